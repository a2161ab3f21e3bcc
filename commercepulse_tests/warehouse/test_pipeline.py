"""The whole platform on the data pack: KPIs vs independent figures, idempotence, late data."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter, defaultdict
from decimal import Decimal

import dagster as dg
import pytest

from commercepulse.defs.landing_contract import TRIGGER
from commercepulse.runner import run_all
from commercepulse_tests import independent as ind
from commercepulse_tests.harness import definitions, run_job, warehouse_of


def checksum(warehouse, name: str) -> str:
    frame = warehouse.table(name).drop(columns=["run_id"], errors="ignore")
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


TABLES = [
    "fact_orders",
    "fact_payments",
    "fact_refunds",
    "fact_shipments",
    "fact_order_daily",
    "dim_customer",
    "dim_product",
    "dim_date",
    "kpi_daily_revenue",
    "kpi_vendor_payment_success",
    "kpi_order_to_payment",
    "kpi_refund_rate",
    "kpi_top_products",
    "kpi_late_arrivals",
    "stg_orders",
    "stg_payments",
]


@pytest.fixture
def built(datapack_env):
    settings, result = datapack_env
    yield settings, dg.DagsterInstance.ephemeral(), warehouse_of(settings), result


@pytest.fixture
def built_copy(datapack_copy, instance):
    settings, result = datapack_copy
    yield settings, instance, warehouse_of(settings), result


def test_kpis_equal_independent_figures(built, datapack):
    settings, _, wh, _ = built
    rates = ind.fx(datapack)
    pays = [ind.payment(r) for r in ind.load_dump(datapack, "payments")] + [
        ind.payment(e["payload"])
        for e in ind.first_arrivals(datapack).values()
        if e["event_type"] == "payment_succeeded"
    ]
    refunds = [ind.refund(r) for r in ind.load_dump(datapack, "refunds")] + [
        ind.refund(e["payload"])
        for e in ind.first_arrivals(datapack).values()
        if e["event_type"] == "refund_issued"
    ]
    gross, refunded = defaultdict(Decimal), defaultdict(Decimal)
    for p in pays:
        if p["status"] == "SUCCESS":
            gross[p["time"].date()] += ind.to_ngn(
                p["amount"], p["currency"], p["time"].date(), rates
            )
    for r in refunds:
        refunded[r["time"].date()] += ind.to_ngn(
            r["amount"], r["currency"], r["time"].date(), rates
        )
    kpi = wh.table("kpi_daily_revenue").set_index("date")
    assert len(kpi) == len(set(gross) | set(refunded))
    for day in set(gross) | set(refunded):
        row = kpi.loc[str(day)]
        # exact: decimal columns summed by the warehouse against decimal sums here
        assert row["gross_revenue_ngn"] == float(gross[day])
        assert row["net_revenue_ngn"] == float(gross[day] - refunded[day])
    success = wh.query(
        "SELECT vendor, sum(successes) AS s, sum(attempts) AS a FROM kpi_vendor_payment_success "
        "GROUP BY vendor"
    ).set_index("vendor")
    attempts = Counter(p["vendor"] for p in pays)
    successes = Counter(p["vendor"] for p in pays if p["status"] == "SUCCESS")
    assert success["a"].to_dict() == dict(attempts) and success["s"].to_dict() == dict(successes)
    # top 5 SKUs: line items of orders with a successful payment
    paid = {(p["vendor"], p["order"]) for p in pays if p["status"] == "SUCCESS"}
    from commercepulse.raw.bootstrap import bootstrap_event_id  # ids only break ties of equal times

    orders = ind.current_orders(
        [(bootstrap_event_id("orders", r), r) for r in ind.load_dump(datapack, "orders")]
        + [
            (e["event_id"], e["payload"])
            for e in ind.first_arrivals(datapack).values()
            if e["event_type"] == "order_created"
        ]
    )
    revenue = defaultdict(float)
    for key, o in orders.items():
        if key in paid:
            for sku, qty, price in o["items"]:
                revenue[sku] += qty * price
    expected = sorted(revenue.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    top = wh.query("SELECT sku, revenue_ngn FROM kpi_top_products WHERE rank <= 5 ORDER BY rank")
    assert list(zip(top["sku"], top["revenue_ngn"])) == [(s, round(v, 2)) for s, v in expected]
    late = wh.table("kpi_late_arrivals").iloc[0]
    assert (late["events"], late["late_events"], late["lines"], late["duplicate_lines"]) == (
        2000,
        200,
        2106,
        106,
    )
    refund_rate = wh.table("kpi_refund_rate")
    assert refund_rate["refunded_orders"].sum() <= refund_rate["paid_orders"].sum()


@pytest.mark.slow  # a year re-materialized twice: in `make test-slow` (CI runs it)
def test_rematerialize_and_backfill_leave_tables_identical(built_copy):
    settings, instance, wh, result = built_copy
    defs = definitions(settings)
    before = {t: checksum(wh, t) for t in TABLES}
    run_job(
        defs, "business_day_job", instance, "2023-01-01", "2023-12-31"
    )  # a backfill of the year
    run_job(defs, "business_day_job", instance, "2025-01-10", "2025-01-15")  # the live days, again
    run_job(defs, "business_day_job", instance, "2023-06-01")  # one partition, again
    run_job(defs, "refresh_job", instance)
    assert {t: checksum(wh, t) for t in TABLES} == before


@pytest.mark.slow  # the data pack staged in shuffled windows: in `make test-slow` (CI runs it)
def test_fact_orders_independent_of_arrival_order(env, datapack, tmp_path):
    lines = (datapack / "live_events/2025-01-15/events.jsonl").read_text().splitlines()
    outcomes = []
    for variant, ordered in (
        ("fwd", lines),
        ("rev", lines[::-1]),
        ("shuf", sorted(lines, key=lambda line: hashlib.md5(line.encode()).hexdigest())),
    ):
        folder = tmp_path / variant / "live_events" / "2025-01-15"
        folder.mkdir(parents=True)
        (folder / "events.jsonl").write_text("\n".join(ordered) + "\n")
        shutil.copy(datapack / "fx_rates_2023.csv", tmp_path / variant)
        settings = env.model_copy(
            update={
                "data_dir": tmp_path / variant,
                "mongo_db": f"{env.mongo_db}_{variant}",
                "duckdb_path": tmp_path / f"{variant}.duckdb",
            }
        )
        instance = dg.DagsterInstance.ephemeral()
        result = run_all(settings, say=lambda _: None, instance=instance, reports=False)
        outcomes.append(checksum(warehouse_of(settings), "fact_orders"))
        # the main job's runs are named runs of the definitions' jobs, tagged as the CLI's
        runs = instance.get_runs()
        assert {r.job_name for r in runs} == {"ingest_job", "business_day_job", "refresh_job"}
        assert {r.run_id for r in runs} == set(result["run_ids"])
        assert all(r.tags[TRIGGER] == "commercepulse run" for r in runs)
        from commercepulse.mongo.client import get_database

        get_database(settings.mongo_uri, settings.mongo_db).client.drop_database(settings.mongo_db)
    assert outcomes[0] == outcomes[1] == outcomes[2]


def test_late_payment_reconciles_exactly_its_day(built_copy, tmp_path):
    settings, instance, wh, _ = built_copy
    day = "2025-01-12"  # D-3 for the ingestion day D = 2025-01-16
    before = {t: wh.table(t) for t in ("kpi_daily_revenue", "fact_payments", "fact_orders")}
    payment = {
        "event_id": "late-pay-1",
        "event_type": "payment_succeeded",
        "event_time": f"{day}T12:00:00Z",
        "vendor": "vendor_b",
        "ingested_at": "2025-01-16T13:00:00Z",
        "payload": {
            "order_id": "ORD-250112-00001",
            "paid_at": f"{day}T12:00:00Z",
            "payment_status": "SUCCESS",
            "amountPaid": 12345,
            "currencyCode": "NGN",
            "channel": "card",
            "transaction_id": "lateref",
        },
    }
    folder = tmp_path / "data" / "live_events" / "2025-01-16"
    folder.mkdir(parents=True)
    (folder / "events.jsonl").write_text(json.dumps(payment) + "\n")
    shutil.copy(settings.data_dir / "fx_rates_2023.csv", tmp_path / "data")
    settings = settings.model_copy(update={"data_dir": tmp_path / "data"})
    defs = definitions(settings)
    run_job(defs, "ingest_job", instance, "2025-01-16")
    sensor = defs.get_sensor_def("reconcile_business_days")
    requests = sensor(dg.build_sensor_context(instance=instance, definitions=defs)).run_requests
    assert [
        (r.partition_key, r.tags.get("dagster/asset_partition_range_start")) for r in requests
    ] == [(day, None)]
    run_job(defs, "business_day_job", instance, requests[0].partition_key)
    run_job(defs, "refresh_job", instance)
    after = wh.table("kpi_daily_revenue").set_index("date")
    old = before["kpi_daily_revenue"].set_index("date")
    assert after.loc[day, "gross_revenue_ngn"] == pytest.approx(
        old.loc[day, "gross_revenue_ngn"] + 12345
    )
    assert after.drop(index=day).equals(old.drop(index=day))
    payments = wh.table("fact_payments")
    assert len(payments) == len(before["fact_payments"]) + 1
    assert payments.set_index("event_id").loc["late-pay-1", "amount_ngn"] == 12345
    # the landing is reconciled once: a second evaluation finds the day already rebuilt
    assert not sensor(dg.build_sensor_context(instance=instance, definitions=defs)).run_requests


def test_definitions_load():
    from commercepulse.definitions import defs as load

    defs = load()
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "events_raw",
        "bootstrap_events",
        "stg_unmapped",
        "fact_orders",
        "kpi_top_products",
    } <= keys


@pytest.mark.slow  # a copy of the data-pack world rebuilt 12 times over: `make test-slow` (CI)
def test_a_window_split_into_parts_leaves_every_table_as_one_statement_does(datapack_copy):
    """Big windows run their statements over consecutive sub-windows (bounded memory): on the
    data pack's year, 12 parts leave every fact and dim exactly as the one-part run built them."""
    from datetime import date

    from commercepulse.defs.table_assets import run_plan, window_statements
    from commercepulse.warehouse.sql import WINDOW_STATEMENTS

    def content(name: str) -> list[tuple]:
        frame = wh.table(name).drop(columns=["run_id"], errors="ignore").astype(str)
        return sorted(frame.itertuples(index=False, name=None))

    settings, _ = datapack_copy
    wh = warehouse_of(settings)
    before = {name: content(name) for name in WINDOW_STATEMENTS}
    assert all(before.values())
    for statements in WINDOW_STATEMENTS.values():
        parts = window_statements(statements, date(2023, 1, 1), date(2024, 1, 5), "x", parts=12)
        by_days = {(p["start"], p["end"]) for sql, p in parts if "start" in p and "part" not in p}
        by_keys = {p["part"] for _, p in parts if "part" in p}
        if any("$part" in sql for sql in statements):  # fact_orders: buckets of its orders
            assert by_keys == set(range(12)) and not by_days
        else:
            assert len(by_days) == 12 and not by_keys
        run_plan(wh, parts)  # as the assets run it: fact_orders commits bucket by bucket
    assert {name: content(name) for name in WINDOW_STATEMENTS} == before
    # fact_orders' parts are disjoint buckets of the window's orders: no order is merged twice in
    # one transaction (DuckDB 1.5.5 can fail updating a row the same transaction inserted)
    import pandas as pd

    from commercepulse.warehouse.sql import ORDER_STATE

    window = {"start": date(2023, 1, 1), "end": date(2024, 1, 5), "run_id": "x"}
    keys = f"SELECT vendor, order_id FROM ({ORDER_STATE})"
    whole = wh.query(keys, window | {"part": 0, "parts": 1})
    buckets = [wh.query(keys, window | {"part": k, "parts": 12}) for k in range(12)]
    assert len(whole) > 1000 and sum(len(b) > 0 for b in buckets) == 12
    together = pd.concat(buckets)
    assert not together.duplicated().any()
    assert sorted(together.itertuples(index=False)) == sorted(whole.itertuples(index=False))


def test_bucket_merges_commit_one_by_one_and_the_rest_of_a_plan_all_or_nothing(tmp_path):
    """DuckDB keeps a transaction's merged rows in memory until it commits, so `fact_orders`'
    bucket MERGEs commit one by one (each leaves its orders right); a window's other statements
    still replace it all or nothing."""
    from datetime import date

    import duckdb

    from commercepulse.defs.table_assets import run_plan
    from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse

    wh = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    wh.execute([("CREATE TABLE t (k INTEGER)", {})])
    bucket = "INSERT INTO t SELECT CAST($part AS INTEGER)"
    broken = "INSERT INTO t SELECT CAST('x' || $part AS INTEGER)"
    plan = [(bucket, {"part": 0, "parts": 3}), (bucket, {"part": 1, "parts": 3})]
    with pytest.raises(duckdb.ConversionException):
        run_plan(wh, [*plan, (broken, {"part": 2, "parts": 3})])
    assert sorted(wh.query("SELECT k FROM t")["k"]) == [0, 1]
    window = {"start": date(2024, 1, 1), "end": date(2024, 1, 2), "run_id": "x"}
    with pytest.raises(duckdb.ConversionException):
        run_plan(
            wh, [("DELETE FROM t WHERE k >= 0", window), (broken.replace("part", "run_id"), window)]
        )
    assert sorted(wh.query("SELECT k FROM t")["k"]) == [0, 1]
