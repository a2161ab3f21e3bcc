"""Rules on the facts: payments without an order, refunds without a payment, orders refunded
beyond what was paid, key integrity of each fact table, dim_date covering every fact date. The
file ends with their catalogue rows."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from commercepulse.checks.normal import NormalRule
from commercepulse.checks.outcome import (
    ERROR,
    SHOWN_ROWS,
    WARN,
    Outcome,
    Thresholds,
    as_date,
    by_day,
    count,
    shown_title,
    window,
)
from commercepulse.checks.spec import CheckSpec, RuleInputs, WindowRule
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.schema import EVENT_TABLES, FACTS

#: The classes of a successful payment whose order was never seen, most benign first.
UNKNOWN_ORDER, BEFORE_WINDOW, TRUE_ORPHAN = (
    "unknown_order_id",
    "order_before_data_window",
    "true_orphan",
)


def _payments_without_order_rows(wh: Warehouse, start: date, end: date, settings: Thresholds):
    """The window's successful payments whose order id has no order_created anywhere (SPEC §6: by
    order id, whatever the vendor: the dumps' shapes do not tie a payment to its order's vendor), each
    with its class: an order id the vendor marks unknown (CHECK_UNKNOWN_ORDER_PATTERN), a payment
    within CHECK_ORPHAN_EDGE_DAYS of the first order its vendor's source (dumps or live stream)
    holds (its order may predate the data), or a true orphan."""
    rows = wh.query(
        """
        WITH starts AS (SELECT vendor, source_kind, min(event_date) AS first_order_day
                        FROM stg_orders GROUP BY vendor, source_kind)
        SELECT p.vendor, p.order_id, p.event_id, p.event_date, p.source_kind, s.first_order_day
        FROM stg_payments p LEFT JOIN starts s ON s.vendor = p.vendor AND s.source_kind = p.source_kind
        WHERE p.event_date >= $start AND p.event_date < $end AND p.status = 'SUCCESS' AND p.duplicate_of IS NULL
          AND NOT EXISTS (SELECT 1 FROM stg_orders o WHERE o.order_id = p.order_id)
        ORDER BY p.vendor, p.order_id, p.event_id""",
        window(start, end),
    )
    pattern = settings.check_unknown_order_pattern
    unknown = (
        rows["order_id"].fillna("").str.contains(pattern)
        if pattern
        else rows["order_id"].isna() & False
    )
    first = pd.to_datetime(rows["first_order_day"])
    edge = first.notna() & (
        pd.to_datetime(rows["event_date"])
        < first + pd.Timedelta(days=settings.check_orphan_edge_days)
    )
    kind = np.where(unknown, UNKNOWN_ORDER, np.where(edge, BEFORE_WINDOW, TRUE_ORPHAN))
    return rows.assign(kind=pd.Series(kind, index=rows.index, dtype="string"))


def _payments_without_order(rows, settings: Thresholds) -> Outcome:
    orphans = rows[rows["kind"] == TRUE_ORPHAN]
    n = len(orphans)
    by_class = {
        k: int((rows["kind"] == k).sum()) for k in (UNKNOWN_ORDER, BEFORE_WINDOW, TRUE_ORPHAN)
    }
    shown = pd.concat([orphans, rows[rows["kind"] != TRUE_ORPHAN]]).head(SHOWN_ROWS)
    return Outcome(
        "payments_without_order",
        n <= settings.check_orphan_payments_max,
        n,
        settings.check_orphan_payments_max,
        WARN,
        {
            "payments_without_order": len(rows),
            "by_class": by_class,
            "edge_days": settings.check_orphan_edge_days,
            "sample_orders": [
                f"{v}/{o}"
                for v, o in orphans[["vendor", "order_id"]].head(10).itertuples(index=False)
            ],
        },
        note=f"{by_class[UNKNOWN_ORDER]} to unknown order ids and {by_class[BEFORE_WINDOW]} near the "
        "start of the data not counted"
        if len(rows) > n
        else "",
        rows=tuple(
            {
                "class": r.kind,
                "vendor": r.vendor,
                "order_id": r.order_id,
                "event_id": r.event_id,
                "day": as_date(r.event_date).isoformat(),
                "source": r.source_kind,
            }
            for r in shown.itertuples()
        ),
        rows_title=shown_title("payment without order", len(shown), len(rows)),
    )


def payments_without_order(i: RuleInputs, start: date, end: date) -> Outcome:
    """Successful payments of the window whose (vendor, order id) has no order_created anywhere."""
    rows = _payments_without_order_rows(i.warehouse, start, end, i.settings)
    return _payments_without_order(rows, i.settings)


def payments_without_order_by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    """`payments_without_order` of every day of [start, end), from one query."""
    return by_day(
        _payments_without_order_rows(i.warehouse, start, end, i.settings),
        start,
        end,
        lambda rows: _payments_without_order(rows, i.settings),
    )


#: Refunds of the day for an order with no successful payment (SPEC §7), judged against their
#: normal share of the day's refunds: orders paid before the data window are refunded every day.
refunds_without_payment = NormalRule(
    name="refunds_without_payment",
    source="""stg_refunds r LEFT JOIN (
                SELECT DISTINCT vendor, order_id FROM stg_payments
                WHERE status = 'SUCCESS' AND duplicate_of IS NULL) p
              ON p.vendor = r.vendor AND p.order_id = r.order_id""",
    day="r.event_date",
    finding="p.order_id IS NULL",
    columns="r.vendor, r.order_id, r.event_date AS day",
    order="1, 2",
    shown=lambda found: found.assign(day=[as_date(d).isoformat() for d in found["day"]]),
    base_words="refunds",
    finding_words="unpaid-order refund",
)


TOUCHED_ORDERS = " UNION ".join(
    f"SELECT vendor, order_id FROM {t} WHERE event_date >= $start AND event_date < $end"
    for t in EVENT_TABLES
)
#: fact_orders rows whose order the window touched (EXISTS: BigQuery has no row-value IN).
TOUCHED_BY_WINDOW = (
    f"EXISTS (SELECT 1 FROM ({TOUCHED_ORDERS}) touched "
    f"WHERE touched.vendor = fact_orders.vendor AND touched.order_id = fact_orders.order_id)"
)


#: An order's rows share exactly one currency (count(DISTINCT currency) = 1, NULL-only orders
#: included, without a DISTINCT aggregate's second hash table).
ONE_CCY = "(min(x.currency) IS NOT NULL AND min(x.currency) = max(x.currency))"
#: Refunded orders the window touched, then only their payments (the same rows: the comparison is
#: an inner join on them). Joining every payment to every touched order, as before, held two hash
#: tables of all orders for a year's window: out of memory at DUCKDB_MEMORY_LIMIT=256MB, and once
#: at 384MB (then the default); this statement alone ran over the year × 20k world's history at 128MB.
OVER_REFUNDS = f"""
WITH ref AS (SELECT x.vendor, x.order_id, {ONE_CCY} AS one_ccy, min(x.currency) AS ccy,
               sum(x.amount) AS refunded, sum(x.amount_ngn) AS refunded_ngn
        FROM stg_refunds x JOIN ({TOUCHED_ORDERS}) touched USING (vendor, order_id)
        GROUP BY x.vendor, x.order_id),
pay AS (SELECT x.vendor, x.order_id, {ONE_CCY} AS one_ccy, min(x.currency) AS ccy,
               sum(x.amount) AS paid, sum(x.amount_ngn) AS paid_ngn
        FROM stg_payments x JOIN (SELECT vendor, order_id FROM ref) r USING (vendor, order_id)
        WHERE x.status = 'SUCCESS' AND x.duplicate_of IS NULL GROUP BY x.vendor, x.order_id),
cmp AS (SELECT pay.vendor, pay.order_id, pay.paid_ngn, ref.refunded_ngn,
               (pay.one_ccy AND ref.one_ccy AND pay.ccy = ref.ccy) AS same_currency,
               pay.ccy AS currency, pay.paid, ref.refunded
        FROM pay JOIN ref ON ref.vendor = pay.vendor AND ref.order_id = pay.order_id)
SELECT vendor, order_id, same_currency, currency, paid, refunded, paid_ngn, refunded_ngn FROM cmp
WHERE CASE WHEN same_currency THEN refunded > paid + 0.005 ELSE refunded_ngn > paid_ngn * (1 + $tolerance) + 0.005 END
ORDER BY vendor, order_id"""


def over_refunded_orders(i: RuleInputs, start: date, end: date) -> Outcome:
    """Paid orders (touched by the window) refunded beyond what was paid: an ERROR finding.

    Refunds are compared with payments in their own currency when both share one (an order paid
    and refunded 35.67 USD is even, whatever the two days' rates); only mixed currencies are
    compared in NGN, with the stated tolerance `CHECK_OVER_REFUND_FX_TOLERANCE` (a share
    of the paid NGN) for the FX difference between the payment and refund days. Orders with no successful payment at all are
    `refunds_without_payment`, not this rule."""
    tolerance = i.settings.check_over_refund_fx_tolerance
    rows = i.warehouse.query(OVER_REFUNDS, {**window(start, end), "tolerance": tolerance})
    return Outcome(
        "over_refunded_orders",
        len(rows) == 0,
        len(rows),
        0,
        ERROR,
        {
            "excess_ngn": round(float((rows["refunded_ngn"] - rows["paid_ngn"]).sum()), 2),
            "compared_in_original_currency": int(rows["same_currency"].sum()),
            "compared_in_ngn": int((~rows["same_currency"].astype(bool)).sum()),
            "fx_tolerance": tolerance,
            "sample_orders": [
                f"{v}/{o}" for v, o in rows[["vendor", "order_id"]].head(10).itertuples(index=False)
            ],
        },
    )


#: How to select a fact's rows of a business-day window, and its date for dim_date.
FACT_WINDOW = {
    "fact_orders": (TOUCHED_BY_WINDOW, "order_date"),
    "fact_payments": ("event_date >= $start AND event_date < $end", "paid_date"),
    "fact_refunds": ("event_date >= $start AND event_date < $end", "refund_date"),
    "fact_shipments": ("event_date >= $start AND event_date < $end", "CAST(status_time AS DATE)"),
    "fact_order_daily": ("date >= $start AND date < $end", "date"),
}


def judge_keys(wh: Warehouse, table: str, start: date, end: date) -> Outcome:
    """The window's rows: unique, non-null keys (ERROR), and rows whose order or customer is
    missing from its dimension (reported in the metadata). Dates are `dim_date_coverage`'s: dim_date
    is rebuilt after the facts, so a fact's check would read the calendar of the previous run."""
    spec = FACTS[table]
    key = ", ".join(spec.key)
    where, _ = FACT_WINDOW[table]
    rows = f"(SELECT * FROM {table} WHERE {where})"
    params = window(start, end)
    dups = count(
        wh,
        f"SELECT count(*) AS n FROM (SELECT {key} FROM {rows} GROUP BY {key} HAVING count(*) > 1)",
        params,
    )
    nulls = count(
        wh,
        f"SELECT count(*) AS n FROM {rows} WHERE " + " OR ".join(f"{k} IS NULL" for k in spec.key),
        params,
    )
    orphans: dict[str, int] = {}
    if table == "fact_orders":
        orphans["customer_missing_from_dim_customer"] = count(
            wh,
            f"""SELECT count(*) AS n FROM {rows} f
            WHERE customer_key IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dim_customer c
                                                           WHERE c.customer_key = f.customer_key)""",
            params,
        )
    if table in ("fact_payments", "fact_refunds", "fact_shipments"):
        orphans["order_missing_from_fact_orders"] = count(
            wh,
            f"""SELECT count(*) AS n FROM {rows} f
            WHERE NOT EXISTS (SELECT 1 FROM fact_orders o WHERE o.vendor = f.vendor AND o.order_id = f.order_id
                              AND o.order_time IS NOT NULL)""",
            params,
        )
    return Outcome(
        "key_integrity",
        dups == 0 and nulls == 0,
        dups + nulls,
        0,
        ERROR,
        {"duplicate_keys": dups, "null_keys": nulls, "key": key, **orphans},
        window_only=tuple(orphans),
    )


FACT_DATES = " UNION ".join(
    f"SELECT DISTINCT {column} AS d FROM {table}" for table, (_, column) in FACT_WINDOW.items()
)


def key_integrity(table: str) -> WindowRule:
    """The key_integrity rule of one fact table (`judge_keys` over the window)."""

    def rule(i: RuleInputs, start: date, end: date) -> Outcome:
        return judge_keys(i.warehouse, table, start, end)

    return rule


def dim_date_coverage(i: RuleInputs, start: date, end: date) -> Outcome:
    """Every date a fact carries is a dim_date row (ERROR finding; runs after dim_date is rebuilt;
    the whole table, whatever the window)."""
    missing = i.warehouse.query(
        f"SELECT f.d FROM ({FACT_DATES}) f WHERE f.d IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM dim_date x WHERE x.date = f.d) ORDER BY f.d"
    )
    days = [as_date(d).isoformat() for d in missing["d"]]
    return Outcome(
        "covers_fact_dates",
        not days,
        len(days),
        0,
        ERROR,
        {"missing_days": days[:SHOWN_ROWS]} if days else {},
    )


FACT_TABLES = tuple(FACT_WINDOW)

ROWS = (
    CheckSpec(
        asset="fact_payments",
        name="payments_without_order",
        what="true orphan payment(s): successful, their order id never seen",
        action="ask the vendor for the missing order_created events",
        description="Successful payments whose order id has no order_created event anywhere, "
        "classified: unknown order id, order before the data window (within "
        "CHECK_ORPHAN_EDGE_DAYS of the source's first order), true orphan; true orphans are judged "
        "(WARN).",
        rule=payments_without_order,
        by_day=payments_without_order_by_day,
    ),
    CheckSpec(
        asset="fact_refunds",
        name="refunds_without_payment",
        what="refund(s) of orders with no successful payment, above their normal",
        action="look for the payments in the vendor's feed (a late one heals it); a refund with "
        "none is money out with none in",
        description="Refunds of the day whose order has no successful payment, judged against "
        "their normal share of the day's refunds (orders paid before the data window are refunded "
        "every day; WARN when above its band).",
        by_day=refunds_without_payment,
    ),
    CheckSpec(
        asset="fact_orders",
        name="over_refunded_orders",
        what="order(s) refunded beyond what was paid",
        action="check the refunds against the payments with the vendor",
        description="Paid orders refunded beyond what was paid, in the original currency (ERROR "
        "finding, not blocking).",
        rule=over_refunded_orders,
    ),
    # dim_customer is rebuilt with the facts; dim_date after them (its own check below)
    *(
        CheckSpec(
            asset=table,
            name="key_integrity",
            what="duplicate or null key(s)",
            action="rebuild the days (business_day_job); if it stays, the fact's SQL lost its key",
            description=f"Unique non-null keys of {table} (ERROR, blocking); order and customer "
            "orphans reported.",
            rule=key_integrity(table),
            blocking=True,
            reads=("dim_customer",) if table == "fact_orders" else (),
        )
        for table in FACT_TABLES
    ),
    CheckSpec(
        asset="dim_date",
        name="covers_fact_dates",
        what="fact date(s) missing from dim_date",
        action="refresh dim_date (refresh_job)",
        description="Every date a fact carries (order, payment, refund, shipment, daily) is a "
        "dim_date row (ERROR finding, not blocking).",
        rule=dim_date_coverage,
        windowed=False,
    ),
)
