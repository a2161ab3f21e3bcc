"""Why net revenue moved (`warehouse/why.py`): on the data pack the parts add up to the KPI's
change to the kobo for any two days (the KPI read from kpi_daily_revenue, not from the parts),
and each injected incident puts at least 90 % of the change on its own cause."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse
from commercepulse.warehouse.why import PARTS, explain_change, movers, read_lines, warehouse_rate


def kobo(value: float) -> int:
    return round(value * 100)


@pytest.fixture(scope="module")
def pack_days(datapack_world):
    settings, _ = datapack_world
    wh = DuckDBWarehouse(path=str(settings.warehouse_path))
    days = [d.date() for d in wh.table("kpi_daily_revenue")["date"]]
    return settings, wh, days


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_parts_add_up_to_the_change_to_the_kobo_for_any_two_days(pack_days, data):
    settings_, wh, days = pack_days
    day = data.draw(st.sampled_from(days))
    versus = data.draw(st.sampled_from(days + [day - timedelta(days=7)]))
    change = explain_change(wh, day, versus, warehouse_rate(wh, versus))
    net = wh.table("kpi_daily_revenue").set_index("date")["net_revenue_ngn"]
    before = net.get(str(versus), 0.0) if str(versus) in net.index.astype(str) else 0.0
    now = float(net.loc[str(day)])
    assert kobo(change.now) - kobo(change.before) == kobo(now) - kobo(before)
    assert sum(kobo(p) for v in change.vendors for p in v.parts.values()) == kobo(now) - kobo(
        before
    )
    for vendor in change.vendors:
        assert sum(kobo(vendor.parts[p]) for p in PARTS) == kobo(vendor.now) - kobo(vendor.before)
    for shown in change.as_dict()["vendors"]:  # each vendor's part names where its rows are
        assert (
            shown["rows"]
            == f"commercepulse explain kpi_daily_revenue {day} --vendor {shown['vendor']}"
        )


BASE = date(2031, 1, 7)  # past every day of the pack: the copies go here, a week apart
WINDOW = (date(2023, 3, 1), date(2023, 6, 1))  # a quarter of the pack, copied onto one day


def copy_window(wh, to: date) -> None:
    """The payments and refunds of WINDOW copied onto the day `to`: a day big enough that a
    sample's average is the average."""
    params = {"to": to, "start": WINDOW[0], "end": WINDOW[1]}
    wh.execute(
        [
            (
                "INSERT INTO fact_payments SELECT * REPLACE ($to AS paid_date, "
                "'copy-' || $to || event_id AS event_id) FROM fact_payments "
                "WHERE paid_date >= $start AND paid_date < $end",
                params,
            ),
            (
                "INSERT INTO fact_refunds SELECT * REPLACE ($to AS refund_date, "
                "'copy-' || $to || event_id AS event_id) FROM fact_refunds "
                "WHERE refund_date >= $start AND refund_date < $end",
                params,
            ),
        ]
    )


INCIDENTS = {
    # the vendor's payments mostly fail: 4 in 5 successes, spread evenly over the amounts
    "success_rate": "UPDATE fact_payments SET status = 'FAILED' WHERE event_id IN ("
    "SELECT event_id FROM (SELECT event_id, row_number() OVER (ORDER BY amount_ngn, event_id) "
    "AS n FROM fact_payments WHERE paid_date = $to AND vendor = $vendor AND status = 'SUCCESS') "
    "WHERE n % 5 <> 0)",
    # a refund wave: every successful payment refunded
    "refunds": "INSERT INTO fact_refunds (event_id, event_date, refund_date, refund_time, vendor, "
    "order_id, amount, currency, amount_ngn, lists_items, run_id, event_ids) "
    "SELECT 'wave-' || event_id, event_date, $to, paid_time, vendor, order_id, amount, currency, "
    "amount_ngn, false, run_id, event_ids FROM fact_payments "
    "WHERE paid_date = $to AND vendor = $vendor AND status = 'SUCCESS'",
    # the USD rate jumps by half
    "fx": "UPDATE fact_payments SET amount_ngn = round(amount_ngn * 1.5, 2) "
    "WHERE paid_date = $to AND vendor = $vendor AND currency = 'USD'",
    # the vendor sends nothing
    "attempts": "DELETE FROM fact_payments WHERE paid_date = $to AND vendor = $vendor",
}


def test_each_injected_incident_puts_90_percent_of_the_change_on_its_cause(datapack_warehouse_copy):
    """A quarter of the pack copied onto a base day and onto one day per incident (a week
    apart); each incident, on one vendor, against the base."""
    settings_, _ = datapack_warehouse_copy
    wh = DuckDBWarehouse(path=str(settings_.warehouse_path))
    copy_window(wh, BASE)
    vendor = "vendor_b"
    for week, (cause, incident) in enumerate(INCIDENTS.items(), start=1):
        day = BASE + timedelta(days=7 * week)
        copy_window(wh, day)
        wh.execute([(incident, {"to": day, "vendor": vendor})])
        change = explain_change(wh, day, BASE, warehouse_rate(wh, BASE))
        mine = next(v for v in change.vendors if v.vendor == vendor)
        assert mine.change != 0, cause
        assert mine.parts[cause] / mine.change >= 0.9, (cause, mine.parts, mine.change)
        others = [v for v in change.vendors if v.vendor != vendor]
        assert all(abs(v.change) < 0.01 for v in others), cause  # it moves only its vendor


def test_the_movers_are_the_paid_order_lines_change_by_sku_and_by_category(pack_days):
    """The SKUs' and the categories' changes are two splits of one change: the paid order lines'
    revenue of the day against a week before (read here straight from the staging tables)."""
    _, wh, days = pack_days
    lines = wh.query(
        "SELECT CAST(f.first_paid_time AS DATE) AS d, x.event_id FROM stg_orders x "
        "JOIN fact_orders f USING (vendor, order_id) WHERE f.first_paid_time IS NOT NULL "
        "QUALIFY row_number() OVER (PARTITION BY x.vendor, x.order_id "
        "ORDER BY x.order_time DESC, x.event_id DESC) = 1"
    )
    items = wh.query("SELECT event_id, qty * unit_price_ngn AS v FROM stg_order_items")
    paid = lines.merge(items, on="event_id").assign(d=lambda f: f["d"].dt.date)
    totals = paid.groupby("d")["v"].sum()
    busy = totals.sort_values().index[-3:]  # days with many lines
    for day in busy:
        week = day - timedelta(days=7)
        moved = movers(read_lines(wh, week, day + timedelta(days=1)), day, [week], top=10_000)
        expected = float(totals.get(day, 0.0)) - float(totals.get(week, 0.0))
        for key in ("sku", "category"):
            assert sum(m["change"] for m in moved[key]) == pytest.approx(expected, abs=0.05)
        top = moved["sku"][:5]
        assert [abs(m["change"]) for m in top] == sorted(
            (abs(m["change"]) for m in top), reverse=True
        )
