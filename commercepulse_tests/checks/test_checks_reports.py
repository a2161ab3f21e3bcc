"""Asset-check rules on crafted bad and clean days, data-pack figures, reports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date, timedelta
from html.parser import HTMLParser
from xml.etree import ElementTree

import dagster as dg
import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from commercepulse.checks import fact_rules, raw_rules
from commercepulse.mongo.client import get_database
from commercepulse.runner import run_all
from commercepulse_tests import independent as ind
from commercepulse_tests.harness import (
    definitions,
    evaluations,
    rule_inputs,
    run_job,
    settings_env,
    warehouse_of,
)

BAD, CLEAN = date(2025, 2, 10), date(2025, 2, 11)


def event(event_id, event_type, day, hour, payload, vendor="vendor_a"):
    t = f"{day.isoformat()}T{hour:02d}:00:00Z"
    return {
        "event_id": event_id,
        "event_type": event_type,
        "event_time": t,
        "vendor": vendor,
        "ingested_at": t,
        "payload": payload,
    }


def order(oid, day, hour, total):
    return {
        "orderRef": oid,
        "created": f"{day} {hour:02d}:00",
        "customer": {"email": f"{oid}@x.com"},
        "total": total,
        "currency": "NGN",
        "region": "Lagos",
        "items": [{"sku": "SKU-0001", "qty": 1, "price": total}],
    }


def pay(oid, day, hour, amount, tx):
    return {
        "orderRef": oid,
        "paidAt": f"{day.strftime('%Y/%m/%d')} {hour:02d}:30:00",
        "status": "SUCCESS",
        "amount": amount,
        "currency": "NGN",
        "method": "card",
        "txRef": tx,
    }


def refund(oid, day, hour, amount):
    return {
        "orderRef": oid,
        "refundedAt": f"{day}T{hour:02d}:45:00",
        "amount": amount,
        "currency": "NGN",
        "reason": "damaged",
        "items": None,
    }


CRAFTED = [
    # bad day: an over-refunded order, an orphan payment, a refund without payment, an unmapped shape
    event("b1", "order_created", BAD, 1, order("O-1", BAD, 1, 1000)),
    event("b2", "payment_succeeded", BAD, 2, pay("O-1", BAD, 2, 1000, "T1")),
    event("b3", "refund_issued", BAD, 3, refund("O-1", BAD, 3, 1500)),
    event("b4", "payment_succeeded", BAD, 4, pay("O-404", BAD, 4, 700, "T2")),
    event("b5", "order_created", BAD, 5, order("O-2", BAD, 5, 800)),
    event("b6", "refund_issued", BAD, 6, refund("O-2", BAD, 6, 300)),
    event("b7", "payment_succeeded", BAD, 7, {"weird": 1, "shape": "x"}, vendor="vendor_z"),
    # clean day
    event("c1", "order_created", CLEAN, 1, order("O-3", CLEAN, 1, 1000)),
    event("c2", "payment_succeeded", CLEAN, 2, pay("O-3", CLEAN, 2, 1000, "T3")),
    event("c3", "refund_issued", CLEAN, 3, refund("O-3", CLEAN, 3, 500)),
]


#: Lines 11 and 12 of the crafted file: they cannot land (quarantined), the rest of the file lands.
BROKEN_LINES = [
    json.dumps(event("q1", "payment_succeeded", CLEAN, 8, pay("O-3", CLEAN, 8, 1, "T9")))[:-9],
    json.dumps({k: v for k, v in event("q2", "order_created", CLEAN, 9, {}, "vendor_b").items()
                if k != "event_time"}),
]  # fmt: skip


class World:
    """The crafted world's engines: the warehouse and the raw store."""

    def __init__(self, settings):
        self.warehouse = warehouse_of(settings)
        self.db = get_database(settings.mongo_uri, settings.mongo_db)


@pytest.fixture
def crafted(env, tmp_path, datapack):
    data = tmp_path / "crafted"
    folder = data / "live_events" / CLEAN.isoformat()
    folder.mkdir(parents=True)
    lines = [json.dumps(e) for e in CRAFTED] + BROKEN_LINES
    (folder / "events.jsonl").write_text("\n".join(lines) + "\n")
    shutil.copy(datapack / "fx_rates_2023.csv", data)
    settings = env.model_copy(update={"data_dir": data})
    instance = dg.DagsterInstance.ephemeral()
    result = run_all(settings, say=lambda _: None, instance=instance)
    world = World(settings)
    yield settings, world, result, instance
    world.db.client.drop_database(settings.mongo_db)


def outcomes(settings, world, day):
    wh, db = world.warehouse, world.db
    end = day + timedelta(days=1)
    inputs = rule_inputs(db, wh, settings)
    # the crafted world is two days old: judge every orphan, none may predate the data
    no_edge = rule_inputs(db, wh, settings.model_copy(update={"check_orphan_edge_days": 0}))
    return {
        "payments_without_order": fact_rules.payments_without_order(no_edge, day, end),
        "refunds_without_payment": fact_rules.refunds_without_payment(inputs, day, end)[day],
        "over_refunded_orders": fact_rules.over_refunded_orders(inputs, day, end),
        "schema_drift": raw_rules.schema_drift(inputs, day, end),
        "completeness": raw_rules.completeness(*raw_rules.completeness_counts(db, wh, day, end)),
        **{
            f"key_integrity:{t}": fact_rules.judge_keys(wh, t, day, end)
            for t in fact_rules.FACT_WINDOW
        },
    }


def test_checks_fail_on_crafted_bad_day_and_pass_on_clean_day(crafted):
    settings, world, result, instance = crafted
    bad = outcomes(settings, world, BAD)
    assert (bad["payments_without_order"].passed, bad["payments_without_order"].figure) == (
        False,
        1,
    )
    assert bad["payments_without_order"].details["sample_orders"] == ["vendor_a/O-404"]
    # with the default edge (30 days) a payment in the data's first days may pay an earlier order
    edge = fact_rules.payments_without_order(
        rule_inputs(world.db, world.warehouse, settings), BAD, CLEAN
    )
    assert (edge.passed, edge.figure, edge.rows[0]["class"]) == (
        True,
        0,
        "order_before_data_window",
    )
    assert edge.details["by_class"] == {
        "unknown_order_id": 0,
        "order_before_data_window": 1,
        "true_orphan": 0,
    }
    # counted; a two-day-old world has no normal to judge it against
    unpaid = bad["refunds_without_payment"]
    assert (unpaid.passed, unpaid.figure, bool(unpaid.unjudged)) == (True, 1, True)
    assert (bad["over_refunded_orders"].passed, bad["over_refunded_orders"].figure) == (False, 1)
    assert bad["over_refunded_orders"].severity == "ERROR"
    assert bad["over_refunded_orders"].details == {
        "excess_ngn": 500.0,
        "compared_in_original_currency": 1,
        "compared_in_ngn": 0,
        "fx_tolerance": 0.02,
        "sample_orders": ["vendor_a/O-1"],
    }
    assert (bad["schema_drift"].passed, bad["schema_drift"].figure) == (False, 1)
    assert bad["schema_drift"].details["unknown_keys"] == ["shape", "weird"]
    assert bad["completeness"].passed and bad["completeness"].details == {
        "raw_events": 7,
        "staged_events": 6,
        "unmapped_events": 1,
    }
    clean = outcomes(settings, world, CLEAN)
    assert all(o.passed for o in clean.values()), {
        k: o.as_dict() for k, o in clean.items() if not o.passed
    }
    assert clean["completeness"].details["raw_events"] == 3
    # the ERROR finding was reported once by the main job, which finished without a failed run
    assert [line for line in result["failed_checks"] if "over_refunded_orders" in line] == [
        "fact_orders:over_refunded_orders [ERROR] 1 (threshold 0) on 1 day(s) (2025-02-10) — "
        "Paid orders refunded beyond what was paid, in the original currency"
    ]
    failed_runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    assert failed_runs == []
    a_broken_file_is_diagnosed_in_the_check_and_the_report(crafted)


def test_completeness_and_key_integrity_catch_tampering(crafted):
    settings, world, _, _ = crafted
    wh = world.warehouse
    wh.execute([("DELETE FROM stg_payments WHERE event_id = 'c2'", {})])
    wh.execute([("INSERT INTO fact_refunds SELECT * FROM fact_refunds WHERE event_id = 'c3'", {})])
    tampered = outcomes(settings, world, CLEAN)
    assert (tampered["completeness"].passed, tampered["completeness"].figure) == (False, 1)
    ki = tampered["key_integrity:fact_refunds"]
    assert (ki.passed, ki.figure, ki.details["duplicate_keys"]) == (False, 1, 1)
    # dim_date is judged after its rebuild, on its own: a fact date it lacks is named
    assert fact_rules.dim_date_coverage(rule_inputs(None, wh, settings), date.min, date.max).passed
    wh.execute([("DELETE FROM dim_date WHERE date = $day", {"day": BAD})])
    gap = fact_rules.dim_date_coverage(rule_inputs(None, wh, settings), date.min, date.max)
    assert (gap.passed, gap.figure, gap.details) == (False, 1, {"missing_days": [BAD.isoformat()]})


def test_asset_checks_are_attached_and_blocking_where_required():
    from commercepulse.definitions import defs

    graph = defs().resolve_asset_graph()
    specs = {
        (k.asset_key.to_user_string(), k.name): graph.get_check_spec(k)
        for k in graph.asset_check_keys
    }
    # blocking only for the platform's own invariants; findings about vendor data never fail a run
    assert {key for key, spec in specs.items() if spec.blocking} == {
        ("stg_unmapped", "completeness"),
        ("silver_users", "scd2_integrity"),
        ("silver_products", "scd2_integrity"),
        ("dim_product_history", "scd2_integrity"),
        *(
            (t, "key_integrity")
            for t in (
                "fact_orders",
                "fact_payments",
                "fact_refunds",
                "fact_shipments",
                "fact_order_daily",
            )
        ),
    }
    assert not specs[("events_raw", "duplicate_event_rate")].blocking
    assert {
        ("events_raw", "late_arriving_pct"),
        ("fact_payments", "payments_without_order"),
        ("stg_unmapped", "schema_drift"),
        ("kpi_daily_revenue", "revenue_drift"),
        ("fact_payments", "key_integrity"),
    } <= set(specs)


def test_datapack_figures_reports_and_revenue_drift(datapack_copy, datapack, tmp_path):
    settings, result = datapack_copy
    instance = dg.DagsterInstance.ephemeral()
    wh, db = warehouse_of(settings), get_database(settings.mongo_uri, settings.mongo_db)
    # payments without an order, independently from the raw files
    expected = ind.payments_without_order(datapack)
    got = fact_rules.payments_without_order(
        rule_inputs(None, wh, settings), date(2000, 1, 1), date(2100, 1, 1)
    )
    classes = ind.payments_without_order_classes(datapack, 30, "UNKNOWN")
    assert got.details["payments_without_order"] == expected == sum(classes.values())
    assert got.details["by_class"] == classes and got.figure == classes["true_orphan"]
    assert {r["class"] for r in got.rows[: classes["true_orphan"]]} == {"true_orphan"}
    day = date(2025, 1, 15)
    dup = raw_rules.duplicate_event_rate(
        rule_inputs(None, wh, settings), day, day + timedelta(days=1)
    )
    late = raw_rules.late_arriving_pct(
        rule_inputs(None, wh, settings), day, day + timedelta(days=1)
    )
    assert dup.figure == round(106 / 2106, 6) and (
        dup.details["duplicate_lines"],
        dup.details["lines"],
    ) == (106, 2106)
    assert late.figure == round(200 / 2000, 6) and (
        late.details["late_events"],
        late.details["events"],
    ) == (200, 2000)

    # the report of the live day: files, figures equal to the KPI tables, rerun = same content
    from commercepulse.reports.writer import write_window_reports

    written = write_window_reports(
        db, wh, day, day + timedelta(days=1), settings.reports_dir, settings
    )
    assert (written["written"], written["unchanged"]) == (1, 0)
    folder = settings.reports_dir / "2025-01-15"
    report = json.loads((folder / "quality.json").read_text())
    kpi = wh.query("SELECT * FROM kpi_daily_revenue WHERE date = DATE '2025-01-15'").iloc[0]
    assert report["kpis"]["daily_revenue"][0]["gross_revenue_ngn"] == kpi["gross_revenue_ngn"]
    assert report["kpis"]["daily_revenue"][0]["net_revenue_ngn"] == kpi["net_revenue_ngn"]
    checks = {c["check"]: c for c in report["checks"]}
    from commercepulse.checks.catalogue import JUDGED as CHECKS
    from commercepulse.checks.catalogue import report_name
    from commercepulse.reports.writer import DataEdges

    # the live stream's days are partial at its edges (SPEC is silent: README → Data rules)
    edges = DataEdges(wh)
    assert "last ingestion day 2025-01-15" in report["partial_day"]
    assert "late events only" in edges.partial(date(2025, 1, 10))
    assert edges.partial(date(2023, 6, 1)) == ""  # a day of the dumps is whole
    page = (folder / "report.html").read_text()
    assert "refunds of the day / gross of the day" in page  # value_rate is labelled with its base
    assert "Top products: all history to date, not this day alone" in page
    # why net revenue moved against a week before: the parts add up to the KPIs' own change
    before_net = wh.query(
        "SELECT net_revenue_ngn FROM kpi_daily_revenue WHERE date = DATE '2025-01-08'"
    )["net_revenue_ngn"]
    moved = round(float(kpi["net_revenue_ngn"]) - float(before_net.sum()), 2)
    assert report["net_revenue_change"][0].startswith("net revenue 2025-01-15 vs 2025-01-08")
    assert f"{moved:+,.2f}" in report["net_revenue_change"][0]
    assert "Why net revenue moved" in page

    assert sorted(checks) == sorted(report_name(spec) for spec in CHECKS)  # every registered check
    assert (
        checks["duplicate_event_rate"]["figure"] == dup.figure
        and checks["late_arriving_pct"]["figure"] == late.figure
    )
    for name in ("revenue.svg", "quality_rates.svg", "payment_success.svg", "vendor_feed.svg"):
        svg = ElementTree.fromstring((folder / name).read_bytes())  # well-formed SVG
        assert svg.tag == "{http://www.w3.org/2000/svg}svg"
        assert int(svg.get("width")) > 100 and int(svg.get("height")) > 100
    revenue_svg = (folder / "revenue.svg").read_text()
    assert "gross" in revenue_svg and "2025-01-15" in revenue_svg  # legend, the day's tick
    html_text = (folder / "report.html").read_text()
    HTMLParser().feed(html_text)
    assert html_text.count("<svg ") == 4 and "duplicate_event_rate" in html_text
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    out = subprocess.run(
        [sys.executable, "-m", "commercepulse.cli", "report", "--date", "2025-01-15"],
        capture_output=True,
        text=True,
        env=settings_env(settings),
    )
    assert out.returncode == 0, out.stderr
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    strip = lambda b: b"\n".join(line for line in b.splitlines() if b"generated" not in line)  # noqa: E731
    assert {k: strip(v) for k, v in after.items()} == {k: strip(v) for k, v in before.items()}

    # revenue drift: a late payment for a reported day shows as drift of exactly its amount
    from commercepulse.raw.live import ingest_live

    late_day = "2025-01-13"
    payment = event(
        "drift-1",
        "payment_succeeded",
        date(2025, 1, 13),
        9,
        pay("ORD-250113-00001", date(2025, 1, 13), 9, 4321, "TD"),
        vendor="vendor_a",
    )
    payment["ingested_at"] = "2025-01-16T10:00:00Z"  # landed three days late
    first_reported = wh.query(
        "SELECT net_revenue_ngn FROM kpi_daily_revenue WHERE date = DATE '2025-01-13'"
    ).iloc[0, 0]
    path = tmp_path / "late.jsonl"
    path.write_text(json.dumps(payment) + "\n")
    ingest_live(db, [path])
    # the revenue KPI's part of a refresh (refresh_job judges all history: the same rule, slower)
    revenue = dg.define_asset_job(
        "revenue_refresh",
        selection=dg.AssetSelection.assets("kpi_daily_revenue", "kpi_restatements"),
    )
    defs = dg.Definitions.merge(definitions(settings), dg.Definitions(jobs=[revenue]))
    run_job(defs, "business_day_job", instance, late_day)
    run = run_job(defs, "revenue_refresh", instance)
    evaluation = evaluations(run)["kpi_daily_revenue:revenue_drift"]
    # restated by 4,321 NGN: below the materiality of the day (max(10,000 NGN, 1 % of its net)): green
    assert evaluation.passed and evaluation.metadata["figure"].value == 0
    assert evaluation.metadata["days_changed"].value == {late_day: 4321.0}
    assert evaluation.metadata["material_days"].value == {}

    # the restatement: first value, now, delta, the run and the event that caused it
    line = "2025-01-13 net revenue restated +4,321.00 NGN by 1 late payment, event drift-1, landed 2025-01-16"
    assert evaluation.metadata["restated"].value == [line]
    every = wh.table("kpi_restatements")
    # the day's gross moved with it (every KPI value is restated, kpi_history)
    gross = every[every["column_name"] == "gross_revenue_ngn"]
    assert gross["date"].dt.strftime("%Y-%m-%d").tolist() == [late_day]
    assert gross["delta"].tolist() == [4321.0]
    restated = every[every["column_name"] == "net_revenue_ngn"]
    assert restated["date"].dt.strftime("%Y-%m-%d").tolist() == [late_day]
    row = restated.iloc[0]
    assert (row["first_reported_ngn"], row["before_ngn"]) == (first_reported, first_reported)
    assert row["now_ngn"] == round(first_reported + 4321, 2) and row["delta_ngn"] == 4321.0
    assert (row["event_ids"], row["events_added"], row["events_removed"]) == ("+drift-1", 1, 0)
    assert row["run_id"] == run.run_id and row["description"] == line
    # a refresh with nothing new restates nothing
    run_job(defs, "revenue_refresh", instance)
    assert wh.table("kpi_restatements").equals(every)
    written = write_window_reports(
        db, wh, date(2025, 1, 13), date(2025, 1, 14), settings.reports_dir, settings
    )
    report = json.loads((settings.reports_dir / late_day / "quality.json").read_text())
    assert [
        r["description"]
        for r in report["kpis"]["restatements"]
        if r["column_name"] == "net_revenue_ngn"
    ] == [line]
    assert line in (settings.reports_dir / late_day / "report.html").read_text()

    # a late payment beyond the materiality (a day's net moved by more than 1 %): yellow, with its line
    big_day = "2025-01-14"
    before = wh.query(
        "SELECT net_revenue_ngn FROM kpi_daily_revenue WHERE date = DATE '2025-01-14'"
    ).iloc[0, 0]
    amount = round(max(10_000, 0.01 * abs(before)) * 3)
    big = event(
        "drift-2",
        "payment_succeeded",
        date(2025, 1, 14),
        9,
        pay("ORD-250114-00001", date(2025, 1, 14), 9, amount, "TE"),
        vendor="vendor_a",
    )
    big["ingested_at"] = "2025-01-16T11:00:00Z"
    path.write_text(json.dumps(big) + "\n")
    ingest_live(db, [path])
    run_job(defs, "business_day_job", instance, big_day)
    run = run_job(defs, "revenue_refresh", instance)
    evaluation = evaluations(run)["kpi_daily_revenue:revenue_drift"]
    big_line = (
        f"2025-01-14 net revenue restated +{amount:,.2f} NGN by 1 late payment, event drift-2, "
        "landed 2025-01-16"
    )
    assert not evaluation.passed and evaluation.metadata["figure"].value == 1
    assert evaluation.metadata["material_days"].value == {big_day: float(amount)}
    # what the UI shows: what was found, how many, against what; the restatement; what to do
    assert evaluation.description.startswith(
        f"1 day(s) restated beyond materiality (threshold 0): {big_line}. What to do: "
    )

    # the warning stays where it happened: a later refresh with nothing new keeps it yellow
    again = evaluations(run_job(defs, "revenue_refresh", instance))[
        "kpi_daily_revenue:revenue_drift"
    ]
    assert not again.passed and again.metadata["material_days"].value == {big_day: float(amount)}
    assert again.metadata["days_changed"].value == {}  # that refresh restated nothing itself

    # until an analyst acknowledges it (the UI's way: the asset's day with a note)
    from commercepulse.checks import revenue_rules
    from commercepulse.defs.kpis.acknowledgements import AcknowledgeConfig

    ack = defs.get_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey("revenue_acknowledgements")}
    )
    done = ack.execute_in_process(
        instance=instance,
        partition_key=big_day,
        run_config={
            "ops": {
                "revenue_acknowledgements": {
                    "config": AcknowledgeConfig(note="vendor_a settled late", by="ada").model_dump()
                }
            }
        },
    )
    assert done.success
    # judged again at once (a runless result), before any refresh
    key = dg.AssetCheckKey(dg.AssetKey("kpi_daily_revenue"), "revenue_drift")
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    assert latest.event.dagster_event.asset_check_evaluation_data.passed
    after = evaluations(run_job(defs, "revenue_refresh", instance))[
        "kpi_daily_revenue:revenue_drift"
    ]
    assert after.passed and after.metadata["acknowledged_days"].value == 1
    day = date.fromisoformat(big_day)
    drift = revenue_rules.revenue_drift_by_day(
        rule_inputs(None, wh, settings), day, day + timedelta(days=1)
    )[day]
    assert drift.passed and drift.details["acknowledged"].endswith("by ada: vendor_a settled late")
    # a second acknowledgement of a day with nothing open is refused, in one line
    refused = ack.execute_in_process(
        instance=instance,
        partition_key=big_day,
        run_config={"ops": {"revenue_acknowledgements": {"config": {"note": "again", "by": ""}}}},
        raise_on_error=False,
    )
    assert not refused.success


def a_broken_file_is_diagnosed_in_the_check_and_the_report(crafted):
    """(Part of the crafted-day test: one world build.) Quarantined lines are listed with file:line, vendor, reason and text; an unknown vendor's
    unmapped record names the vendor and the mapping file that fixes it."""
    settings, world, _, _ = crafted
    file = f"live_events/{CLEAN.isoformat()}/events.jsonl"
    quarantined = raw_rules.quarantine_open(
        rule_inputs(world.db, world.warehouse, settings), date.min, date.max
    )
    assert (quarantined.passed, quarantined.figure) == (False, 2)
    assert [(r["file:line"], r["vendor"], r["reason"].split(":")[0]) for r in quarantined.rows] == [
        (f"{file}:11", "vendor_a", "invalid JSON"),
        (f"{file}:12", "vendor_b", "missing or unparseable event_time"),
    ]
    assert quarantined.rows[0]["text"] == BROKEN_LINES[0][:200] + "…" * (len(BROKEN_LINES[0]) > 200)
    assert quarantined.rows_title == "open quarantine records (2)"

    drift = raw_rules.schema_drift(
        rule_inputs(world.db, world.warehouse, settings), BAD, BAD + timedelta(days=1)
    )
    (row,) = drift.rows
    assert (row["vendor"], row["event_type"], row["events"], row["unknown_keys"]) == (
        "vendor_z",
        "payment_succeeded",
        1,
        "shape,weird",
    )
    assert row["fix"].startswith("vendor_z has no mapping: add DATA_DIR/mappings/vendor_z.json")
    assert drift.details["by_vendor"] == {"vendor_z": 1} and "vendor_z" in drift.why()

    # the asset check shows the records as a table
    from commercepulse.defs.asset_checks import metadata

    table = metadata(quarantined)["findings"].value
    assert f"{file}:11" in table and "vendor_b" in table and table.count("\n") == 5

    # the report of the file's ingestion day lists its lines; the bad business day names vendor_z
    for day, check, wanted in (
        (CLEAN, "quarantine_open", f"{file}:12"),
        (BAD, "schema_drift", "vendor_z.json"),
    ):
        report = json.loads((settings.reports_dir / day.isoformat() / "quality.json").read_text())
        (found,) = [c for c in report["checks"] if c["check"] == check]
        assert found["passed"] is False and wanted in json.dumps(found["rows"])
        assert wanted in (settings.reports_dir / day.isoformat() / "report.html").read_text()


@given(
    st.lists(
        st.lists(st.sampled_from(["NGN", "USD", "GHS", None]), min_size=1, max_size=4),
        min_size=1,
        max_size=12,
    )
)
@examples(max_examples=60, deadline=None, derandomize=True)
def test_one_currency_test_agrees_with_counting_distinct_currencies(orders):
    """`fact_rules.ONE_CCY` (min = max, spillable) says what `count(DISTINCT currency) = 1` said, NULLs
    and NULL-only orders included."""
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE x (order_id INTEGER, currency VARCHAR)")
    rows = [(i, c) for i, currencies in enumerate(orders) for c in currencies]
    con.executemany("INSERT INTO x VALUES (?, ?)", rows)
    got = con.execute(
        f"SELECT order_id, {fact_rules.ONE_CCY}, count(DISTINCT x.currency) = 1 FROM x GROUP BY 1"
    ).fetchall()
    assert len(got) == len(orders)
    assert all(one is expected for _, one, expected in got), got


#: `fact_rules.OVER_REFUNDS` as it stood until 2026-12-02 (touched orders joined to every payment, a
#: DISTINCT currency count): the oracle for its rewrite, which must return the same rows.
OVER_REFUNDS_BEFORE = f"""
WITH touched AS ({fact_rules.TOUCHED_ORDERS}),
pay AS (SELECT x.vendor, x.order_id, count(DISTINCT x.currency) AS ccys, min(x.currency) AS ccy,
               sum(x.amount) AS paid, sum(x.amount_ngn) AS paid_ngn
        FROM stg_payments x JOIN touched USING (vendor, order_id)
        WHERE x.status = 'SUCCESS' AND x.duplicate_of IS NULL GROUP BY x.vendor, x.order_id),
ref AS (SELECT x.vendor, x.order_id, count(DISTINCT x.currency) AS ccys, min(x.currency) AS ccy,
               sum(x.amount) AS refunded, sum(x.amount_ngn) AS refunded_ngn
        FROM stg_refunds x JOIN touched USING (vendor, order_id) GROUP BY x.vendor, x.order_id),
cmp AS (SELECT pay.vendor, pay.order_id, pay.paid_ngn, ref.refunded_ngn,
               (pay.ccys = 1 AND ref.ccys = 1 AND pay.ccy = ref.ccy) AS same_currency,
               pay.ccy AS currency, pay.paid, ref.refunded
        FROM pay JOIN ref ON ref.vendor = pay.vendor AND ref.order_id = pay.order_id)
SELECT vendor, order_id, same_currency, currency, paid, refunded, paid_ngn, refunded_ngn FROM cmp
WHERE CASE WHEN same_currency THEN refunded > paid + 0.005 ELSE refunded_ngn > paid_ngn * (1 + $tolerance) + 0.005 END"""


def money_rows(amounts: list[float]):
    """(vendor, order id, day offset, currency, amount) rows: few orders, so they meet."""
    return st.lists(
        st.tuples(
            st.sampled_from(["vendor_a", "vendor_b"]),
            st.sampled_from(["O-1", "O-2", "O-3"]),
            st.integers(0, 4),  # day offset
            st.sampled_from(["NGN", "USD", None]),
            st.sampled_from(amounts),
        ),
        min_size=1,
        max_size=8,
    )


@given(
    # payments mostly successful and original, refunds larger: over-refunds are common
    money_rows([10.0, 50.0, 100.0]).flatmap(
        lambda rows: st.tuples(
            st.just(rows),
            st.lists(
                st.tuples(
                    st.sampled_from(["SUCCESS", "SUCCESS", "FAILED"]),
                    st.sampled_from([False, False, True]),  # a duplicate of e0
                ),
                min_size=len(rows),
                max_size=len(rows),
            ),
        ).map(lambda pair: [(*row, *more) for row, more in zip(*pair, strict=True)])
    ),
    money_rows([50.0, 100.0, 250.0]),
    st.integers(0, 3),
)
@examples(max_examples=40, deadline=None, derandomize=True)
def test_over_refunds_rewrite_returns_the_rows_of_the_previous_statement(payments, refunds, first):
    """Any payments and refunds (mixed currencies, NULL currencies, failed and duplicate
    payments, orders of two vendors sharing ids) and any window: the same findings."""
    import duckdb
    import pandas as pd

    from commercepulse.warehouse.duckdb_warehouse import ddl
    from commercepulse.warehouse.schema import ALL_TABLES

    day0 = date(2025, 3, 1)
    con = duckdb.connect()
    for table in (
        "stg_orders",
        "stg_payments",
        "stg_refunds",
        "stg_shipments",
        "stg_order_updates",
    ):
        con.execute(ddl(ALL_TABLES[table]))

    def frame(rows, **extra):
        out = []
        for i, (vendor, order_id, offset, currency, amount, *more) in enumerate(rows):
            t = pd.Timestamp(day0 + timedelta(days=offset), tz="UTC")
            out.append(
                {
                    "event_id": f"e{i}",
                    "vendor": vendor,
                    "order_id": order_id,
                    "event_time": t,
                    "event_date": t.date(),
                    "ingested_at": t,
                    "is_late": False,
                    "source_kind": "live",
                    "currency": currency,
                    "amount": amount,
                    "amount_ngn": amount * (1600.0 if currency == "USD" else 1.0),
                    **{k: f(more, i, t) for k, f in extra.items()},
                }
            )
        return pd.DataFrame(out)

    pays = frame(  # noqa: F841 (DuckDB reads the frame by its name)
        payments,
        paid_time=lambda more, i, t: t,
        status=lambda more, i, t: more[0],
        duplicate_of=lambda more, i, t: "e0" if more[1] and i else None,
    )
    refs = frame(refunds, refund_time=lambda more, i, t: t, lists_items=lambda more, i, t: False)  # noqa: F841
    if len(pays):
        con.execute("INSERT INTO stg_payments BY NAME SELECT * FROM pays")
    if len(refs):
        con.execute("INSERT INTO stg_refunds BY NAME SELECT * FROM refs")
    params = {"start": day0 + timedelta(days=first), "end": day0 + timedelta(days=first + 3)}
    params["tolerance"] = 0.02

    def rows(sql):
        return sorted(con.execute(sql, params).fetchall(), key=lambda r: (r[0], r[1]))

    assert rows(fact_rules.OVER_REFUNDS) == rows(OVER_REFUNDS_BEFORE)
