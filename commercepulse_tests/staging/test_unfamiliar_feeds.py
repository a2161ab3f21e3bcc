"""The six defects found on feeds the team did not write (issue 20), each from its minimal example,
and the two readings of SPEC: AOV from successful payments, one session per paid order."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from commercepulse.checks import fact_rules, platform_rules, raw_rules
from commercepulse.checks.windows import history_outcome, outcomes_by_day
from commercepulse.lib.timeparse import parse_time, parse_times
from commercepulse.settings import Settings
from commercepulse.warehouse.session_credit import PAID_ORDER_CLOCK_SKEW_SECONDS
from commercepulse_tests.harness import rule_inputs
from commercepulse_tests.worlds import world

D1, D2 = "2025-03-25", "2025-03-26"


@pytest.fixture
def platform(mongo_uri, mongo_home):
    with world(mongo_uri, mongo_home) as built:
        yield built


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# 1. A naive time is UTC, whatever the values around it ---------------------------------------------
def test_naive_time_after_an_offset_is_read_as_utc():
    got = parse_times(["2025-03-25T01:14:34+01:00", "2025-03-25T00:11:53"])
    assert got.tolist() == [utc("2025-03-25T00:14:34"), utc("2025-03-25T00:11:53")]
    # the batch order does not matter, nor does the spelling of the neighbours
    assert (
        parse_times(["2025-03-25T00:11:53", "2025-03-25T01:14:34+01:00"]).tolist()
        == got.tolist()[::-1]
    )
    mixed = [
        "2025-03-25T09:00:00+01:00",
        "2025-03-25 08:30",
        "2025/03/25 08:30:00",
        "2025-03-25T08:30:00-05:00",
        "2025-03-25T08:30:00",
        1742891400,
        "1742891400",
    ]
    want = [
        utc("2025-03-25T08:00"),
        utc("2025-03-25T08:30"),
        utc("2025-03-25T08:30"),
        utc("2025-03-25T13:30"),
        utc("2025-03-25T08:30"),
        utc("2025-03-25T08:30"),
        utc("2025-03-25T08:30"),
    ]
    assert parse_times(mixed).tolist() == want
    assert [pd.Timestamp(parse_time(v)) for v in mixed] == want  # the per-line rule agrees


def test_catalog_price_sent_naive_after_an_offset_price_is_the_current_one(platform):
    product = {
        "product_id": "SKU-1",
        "product_name": "Kettle",
        "category": "Home",
        "available_stock": 4,
    }
    platform.platform_day(
        "products",
        D1,
        [
            {**product, "price": 9000, "updated_at": f"{D1}T09:00:00+01:00"},
            {**product, "price": 8500, "updated_at": f"{D1}T08:30:00"},
        ],
    )
    platform.build_platform()
    history = platform.warehouse.table("dim_product_history").sort_values("version")
    # 09:00+01:00 is 08:00Z: the naive 08:30 (UTC) is the later version and the current price
    assert history[["list_price_ngn", "is_current"]].values.tolist() == [
        [9000.0, False],
        [8500.0, True],
    ]
    assert history["valid_from"].tolist() == [utc(f"{D1}T08:00"), utc(f"{D1}T08:30")]


# 2. Blank ids are missing values ---------------------------------------------------------------------
def _events(
    session: str, users: list, start_minute: int = 0, day: str = D1, device: str = "web"
) -> list[dict]:
    steps = ["view", "add_to_cart", "checkout"]
    return [
        {
            "event_id": f"{session}-{n}",
            "session_id": session,
            "user_id": user,
            "event_type": steps[min(n, 2)],
            "event_ts": f"{day}T10:{start_minute + n:02d}:00Z",
            "device_type": device,
        }
        for n, user in enumerate(users)
    ]


def _lifecycle(order: str, user, *statuses: tuple[str, str]) -> list[dict]:
    return [{"order_id": order, "user_id": user, "status": s, "status_ts": t} for s, t in statuses]


def test_blank_user_ids_are_anonymous_and_do_not_hide_the_real_user(platform):
    platform.platform_day("behaviour_events", D1, _events("S-1", ["", "USR001141", "USR001141"]))
    platform.platform_day("behaviour_events", D1, _events("S-2", ["  ", None], device="mobile"))
    no_key = {k: v for k, v in _events("S-3", ["x"])[0].items() if k != "user_id"}
    platform.platform_day("behaviour_events", D1, [no_key])
    platform.platform_day(
        "orders",
        D1,
        _lifecycle(
            "PO-1", "USR001141", ("CREATED", f"{D1}T10:03:00Z"), ("PAID", f"{D1}T10:04:00Z")
        ),
    )
    platform.build_platform()
    sessions = platform.warehouse.table("fact_sessions").set_index("session_id")
    assert (
        sessions.loc["S-1", "user_id"] == "USR001141"
        and sessions.loc["S-1", "paid_order_id"] == "PO-1"
    )
    assert sessions.loc["S-1", "funnel_step"] == 4
    assert sessions["is_anonymous"].to_dict() == {"S-1": False, "S-2": True, "S-3": True}
    events = platform.warehouse.table("silver_behaviour_events")
    assert events["user_id"].isna().sum() == 4  # "", "  ", null and no key at all
    assert set(events["user_id"].dropna()) == {"USR001141"}


def test_blank_keys_are_quarantined_in_bronze(platform):
    from commercepulse.mongo.indexes import PLATFORM_QUARANTINE

    platform.platform_day(
        "users",
        D1,
        [
            {"user_id": "  ", "email": "a@b", "updated_at": f"{D1}T10:00:00Z"},
            {"user_id": "U-1", "email": " ", "updated_at": f"{D1}T10:00:00Z"},
        ],
    )
    platform.platform_day(
        "behaviour_events", D1, [{**_events("S-1", ["U-1"])[0], "session_id": ""}]
    )
    platform.build_platform()
    reasons = sorted(q["reason"] for q in platform.db[PLATFORM_QUARANTINE].find())
    assert reasons == [
        "behaviour_events: missing session_id",
        "users: missing email",
        "users: missing user_id",
    ]


# 3. and 5. Orders without a CREATED record, and orders known only from their lines ----------------------
def test_order_without_created_takes_its_lines_time_links_to_its_session_and_is_counted(platform):
    platform.platform_day("behaviour_events", D1, _events("S-1", ["U-1", "U-1", "U-1"]))
    platform.platform_day(
        "orders", D1, _lifecycle("PO-1", "U-1", ("PAID", f"{D1}T10:20:00Z"))
    )  # no CREATED
    platform.platform_day(
        "orders", D1, _lifecycle("PO-3", "U-2", ("PAID", f"{D1}T11:20:00Z"))
    )  # no CREATED, no lines
    platform.platform_day(
        "order_items",
        D1,
        [
            {
                "order_id": "PO-1",
                "product_id": "SKU-1",
                "quantity": 1,
                "unit_price": 5000,
                "created_at": f"{D1}T10:03:00Z",
            },
            # known only from its lines: no lifecycle record ever arrived
            {
                "order_id": "PO-2",
                "product_id": "SKU-2",
                "quantity": 2,
                "unit_price": 700,
                "created_at": f"{D1}T12:00:00+01:00",
            },
        ],
    )
    platform.build_platform()
    orders = platform.warehouse.table("fact_platform_orders").set_index("order_id")
    assert sorted(orders.index) == ["PO-1", "PO-2", "PO-3"]
    assert (orders.loc["PO-1", "created_at"], orders.loc["PO-1", "created_from"]) == (
        utc(f"{D1}T10:03"),
        "order_items",
    )
    assert (orders.loc["PO-2", "created_at"], orders.loc["PO-2", "created_from"]) == (
        utc(f"{D1}T11:00"),
        "order_items",
    )
    assert pd.isna(orders.loc["PO-2", "status"]) and orders.loc["PO-2", "order_value_ngn"] == 1400.0
    assert (orders.loc["PO-3", "created_at"], orders.loc["PO-3", "created_from"]) == (
        utc(f"{D1}T11:20"),
        "first_status",
    )
    sessions = platform.warehouse.table("fact_sessions").set_index("session_id")
    assert sessions.loc["S-1", "paid_order_id"] == "PO-1"
    rule = platform_rules.orders_without_created
    inputs = rule_inputs(None, platform.warehouse, Settings())
    counts = rule.counts(inputs, date.max)
    assert counts[["found", "base"]].values.tolist() == [[3, 3]]
    found = rule.findings(inputs, date.min, date.max).set_index("order_id")
    assert found["created_from"].to_dict() == {
        "PO-1": "order_items",
        "PO-2": "order_items",
        "PO-3": "first_status",
    }
    assert found["known_only_from_lines"].astype(bool).to_dict() == {
        "PO-1": False,
        "PO-2": True,
        "PO-3": False,
    }


# 4. Two lines for one SKU are two lines; an exact copy is one ---------------------------------------------
def test_two_lines_for_one_sku_both_count_and_an_exact_copy_once(platform):
    line = {
        "order_id": "PO-1",
        "product_id": "SKU-9",
        "quantity": 1,
        "unit_price": 116000,
        "created_at": f"{D1}T10:00:00Z",
    }
    second = {**line, "quantity": 2, "unit_price": 97160}
    platform.platform_day("order_items", D1, [line, second])
    # re-sent the next day: an exact copy (its time respelled in WAT) is the same line
    platform.platform_day("order_items", D2, [{**line, "created_at": f"{D1}T11:00:00+01:00"}])
    platform.platform_day("orders", D1, _lifecycle("PO-1", "U-1", ("CREATED", f"{D1}T10:00:00Z")))
    platform.build_platform()
    orders = platform.warehouse.table("fact_platform_orders")
    assert orders["order_value_ngn"].tolist() == [310320.0] and orders["lines"].tolist() == [2]
    items = platform.warehouse.table("fact_platform_order_items").sort_values("line_no")
    assert items[["line_no", "sku", "quantity", "line_value_ngn"]].values.tolist() == [
        [1, "SKU-9", 1.0, 116000.0],
        [2, "SKU-9", 2.0, 194320.0],
    ]
    silver = platform.warehouse.table("silver_order_items").sort_values("line_no")
    assert [len(ids.split(",")) for ids in silver["bronze_ids"]] == [
        2,
        1,
    ]  # the copy folded into line 1


# Reading: one session per paid order, with a clock-skew tolerance ------------------------------------------
def test_paid_order_is_credited_to_one_session_within_the_clock_skew(platform):
    # two sessions of U-1 check out at 10:02 and 10:12; the order is stamped 5 s before the second checkout
    platform.platform_day(
        "behaviour_events", D1, _events("S-A", ["U-1"] * 3) + _events("S-B", ["U-1"] * 3, 10)
    )
    skewed = f"{D1}T10:11:55Z"
    platform.platform_day(
        "orders", D1, _lifecycle("PO-1", "U-1", ("CREATED", skewed), ("PAID", f"{D1}T10:15:00Z"))
    )
    # U-2's order stamped just beyond the tolerance before its session's checkout is not credited
    platform.platform_day("behaviour_events", D1, _events("S-C", ["U-2"] * 3, 30))
    early = (
        utc(f"{D1}T10:32") - pd.Timedelta(seconds=PAID_ORDER_CLOCK_SKEW_SECONDS + 1)
    ).isoformat()
    platform.platform_day(
        "orders", D1, _lifecycle("PO-2", "U-2", ("CREATED", early), ("PAID", f"{D1}T10:40:00Z"))
    )
    platform.build_platform()
    sessions = platform.warehouse.table("fact_sessions").set_index("session_id")
    assert sessions["paid_order_id"].fillna("-").to_dict() == {
        "S-A": "-",
        "S-B": "PO-1",
        "S-C": "-",
    }
    funnel = platform.warehouse.table("kpi_daily_funnel")
    assert int(funnel["paid_sessions"].sum()) == 1


# 6. A whole-history finding counts distinct findings --------------------------------------------------------
def test_over_refunded_order_touched_on_three_days_is_one_finding(env):
    from commercepulse_tests.harness import warehouse_of

    wh = warehouse_of(env)
    day = date(2025, 3, 1)
    base = {
        "vendor": "vendor_a",
        "order_id": "O-1",
        "currency": "NGN",
        "ingested_at": utc("2025-03-05"),
        "is_late": False,
        "source_kind": "live",
    }

    def at(n: int) -> dict:
        t = utc(str(day + timedelta(days=n)))
        return {"event_time": t, "event_date": pd.Timestamp(day + timedelta(days=n))}

    payments = pd.DataFrame(  # noqa: F841 (DuckDB reads the frame by its name)
        [
            {
                **base,
                **at(0),
                "event_id": "p1",
                "paid_time": at(0)["event_time"],
                "status": "SUCCESS",  # noqa: F841
                "amount": 1000.0,
                "amount_ngn": 1000.0,
            }
        ]
    )
    refunds = pd.DataFrame(  # noqa: F841
        [
            {
                **base,
                **at(n),
                "event_id": f"r{n}",
                "refund_time": at(n)["event_time"],  # noqa: F841
                "amount": 600.0,
                "amount_ngn": 600.0,
                "lists_items": False,
            }
            for n in (1, 2)
        ]
    )
    with wh.connect() as con:
        con.execute("INSERT INTO stg_payments BY NAME SELECT * FROM payments")
        con.execute("INSERT INTO stg_refunds BY NAME SELECT * FROM refunds")

    def rule(start: date, end: date):
        return fact_rules.over_refunded_orders(rule_inputs(None, wh, Settings()), start, end)

    start, end = day, day + timedelta(days=3)
    outcome = history_outcome(outcomes_by_day(rule, start, end, additive=True), rule(start, end))
    assert not outcome.passed and outcome.details["days_failing"] == 3  # each day touches the order
    assert outcome.figure == 1  # but it is one over-refunded order


# Work in flight is not a loss: the blocking completeness check ---------------------------------------------
def test_events_landed_after_their_day_was_staged_are_pending_not_missing(mongo_uri, mongo_home):
    import time

    from commercepulse.raw.live import ingest_live
    from commercepulse_tests.worlds import world

    def order(n: int) -> dict:
        return {"event_id": f"o{n}", "event_type": "order_created", "event_time": "2025-01-14T10:00:00Z",
                "vendor": "vendor_b", "ingested_at": "2025-01-14T11:00:00Z",
                "payload": {"order_id": f"O-{n}", "created_at": "2025-01-14T10:00:00Z", "totalAmount": 100,
                            "currencyCode": "NGN", "buyerEmail": "a@b.ng", "line_items": []}}  # fmt: skip

    day = date(2025, 1, 14)
    with world(mongo_uri, mongo_home) as w:
        w.live_day("2025-01-14", [order(1), order(2)])
        w.build_vendor()
        assert raw_rules.completeness_by_day(
            rule_inputs(w.db, w.warehouse, Settings()), day, day + timedelta(days=1)
        )[day].passed
        time.sleep(0.01)
        w.live_day(
            "2025-01-15", [order(3)]
        )  # lands after the day was staged: its rebuild is pending
        ingest_live(w.db, [w.data_dir / "live_events" / "2025-01-15"])
        pending = raw_rules.completeness_by_day(
            rule_inputs(w.db, w.warehouse, Settings()), day, day + timedelta(days=1)
        )[day]
        assert pending.passed and pending.figure == 0
        assert pending.details["landed_after_staging"] == 1 and pending.details["raw_events"] == 3
        # a staged event lost from staging is a failure, whatever is in flight beside it
        w.warehouse.execute([("DELETE FROM stg_orders WHERE event_id = 'o1'", {})])
        lost = raw_rules.completeness_by_day(
            rule_inputs(w.db, w.warehouse, Settings()), day, day + timedelta(days=1)
        )[day]
        assert not lost.passed and lost.figure == 1 and lost.details["landed_after_staging"] == 1


# The analyst's UI: KPI columns described, latest values and the warehouse's place shown ------------------
def test_kpi_assets_describe_every_column_and_show_their_latest_values(mongo_uri, mongo_home):
    import dagster as dg

    from commercepulse.definitions import defs as load
    from commercepulse.warehouse.schema import KPIS
    from commercepulse_tests.harness import definitions, run_job
    from commercepulse_tests.worlds import world

    graph = load().resolve_asset_graph()
    for name in KPIS:
        schema = graph.get(dg.AssetKey(name)).metadata["dagster/column_schema"]
        assert all(c.description for c in schema.columns), name

    def paid(n: int, day: str, amount: int) -> dict:
        return {"event_id": f"p{n}", "event_type": "payment_succeeded", "event_time": f"{day}T10:00:00Z",
                "vendor": "vendor_b", "ingested_at": f"{day}T11:00:00Z",
                "payload": {"order_id": f"O-{n}", "paid_at": f"{day}T10:00:00Z", "payment_status": "SUCCESS",
                            "amountPaid": amount, "currencyCode": "NGN", "transaction_id": f"T{n}"}}  # fmt: skip

    with world(mongo_uri, mongo_home) as w:
        w.live_day("2025-01-14", [paid(1, "2025-01-13", 1000), paid(2, "2025-01-14", 2500)])
        w.build_vendor()
        result = run_job(definitions(w.settings), "refresh_job", dg.DagsterInstance.ephemeral())
        metadata = {
            m.asset_key.to_user_string(): m.metadata
            for m in result.asset_materializations_for_node("kpi_daily_revenue")
        }["kpi_daily_revenue"]
        assert metadata["warehouse"].value == f"duckdb:{w.settings.duckdb_path.resolve()}"
        latest = metadata["latest"].value.splitlines()
        assert latest[0] == (
            "| date | gross_revenue_ngn | refunds_ngn | net_revenue_ngn | is_final |"
        )
        # vendor_b's days arrive within themselves (lag 0) and its newest event is 01-14 11:00:
        # 01-13 has ended, 01-14 has not (warehouse/lateness.py)
        assert latest[2:] == [
            "| 2025-01-14 | 2,500.00 | 0 | 2,500.00 | False |",
            "| 2025-01-13 | 1,000.00 | 0 | 1,000.00 | True |",
        ]
