"""How each KPI's figures are explained (read by `explain.py` and the KPI catalogue): the fact
rows' SQL (each row with its contribution to the figure), the KPI row's SQL, and how listed rows
add up to each of the KPI's columns, re-derived the way the KPI's own SQL derives them (sums
rounded to the cent, averages to 4 decimals), so a match is exact, not within a tolerance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from commercepulse.warehouse.sql import PAID_ORDER_EVENTS

Reconcile = Callable[[pd.DataFrame], dict[str, float | int | None]]


def _money(values: pd.Series) -> float:
    return round(float(values.sum()), 2)


def _revenue(rows: pd.DataFrame) -> dict[str, float | int | None]:
    gross = _money(rows.loc[rows["role"] == "payment", "contribution"])
    refunds = _money(-rows.loc[rows["role"] == "refund", "contribution"])
    return {
        "gross_revenue_ngn": gross,
        "refunds_ngn": refunds,
        "net_revenue_ngn": _money(rows["contribution"]),
    }


def _refund_rate(rows: pd.DataFrame) -> dict[str, float | int | None]:
    paid, refunded = len(rows), int(rows["contribution"].sum())
    return {
        "paid_orders": paid,
        "refunded_orders": refunded,
        "refund_rate": refunded / paid if paid else None,
    }


def _order_to_payment(rows: pd.DataFrame) -> dict[str, float | int | None]:
    gaps = rows.loc[rows["contribution"] >= 0, "contribution"]
    return {
        "orders": len(rows),
        "avg_minutes": round(float(gaps.mean()), 4) if len(gaps) else None,
        "negative_gaps": int((rows["contribution"] < 0).sum()),
    }


def _top_product(rows: pd.DataFrame) -> dict[str, float | int | None]:
    return {"units": float(rows["units"].sum()), "revenue_ngn": _money(rows["contribution"])}


_VENDOR = "($vendor = '' OR vendor = $vendor)"


@dataclass(frozen=True)
class Explainer:
    """How one KPI is explained: its key, its fact rows, its figure, and how rows add up."""

    kpi: str
    key: str  # what the KPI row is found by: a day, or a SKU
    contribution: str  # what `contribution` means in the listed rows
    rows_sql: (
        str  # fact rows: role, vendor, order_id, time, contribution, event_ids, run_id (+ extras)
    )
    figure_sql: str
    reconcile: Reconcile
    per_vendor: bool = (
        False  # the KPI has one row per vendor: --vendor picks it, else rows are summed
    )


EXPLAINERS: dict[str, Explainer] = {
    e.kpi: e
    for e in (
        Explainer(
            "kpi_daily_revenue",
            "date",
            "NGN added to net revenue (refunds negative)",
            f"""
        SELECT 'payment' AS role, event_id AS fact_key, vendor, order_id, paid_time AS time,
               amount, currency, amount_ngn AS contribution, event_ids, run_id, 'fact_payments' AS fact
        FROM fact_payments WHERE status = 'SUCCESS' AND paid_date = $key AND {_VENDOR}
        UNION ALL
        SELECT 'refund', event_id, vendor, order_id, refund_time, amount, currency, -amount_ngn, event_ids, run_id,
               'fact_refunds'
        FROM fact_refunds WHERE refund_date = $key AND {_VENDOR}
        ORDER BY time, fact_key""",
            "SELECT gross_revenue_ngn, refunds_ngn, net_revenue_ngn FROM kpi_daily_revenue WHERE date = $key",
            _revenue,
        ),
        Explainer(
            "kpi_refund_rate",
            "date",
            "1 = the paid order was refunded",
            f"""
        SELECT CASE WHEN refund_count > 0 THEN 'refunded order' ELSE 'paid order' END AS role,
               vendor || '/' || order_id AS fact_key, vendor, order_id, first_paid_time AS time,
               paid_ngn AS amount, 'NGN' AS currency, CASE WHEN refund_count > 0 THEN 1 ELSE 0 END AS contribution,
               event_ids, run_id, 'fact_orders' AS fact
        FROM fact_orders WHERE first_paid_time IS NOT NULL AND CAST(first_paid_time AS DATE) = $key AND {_VENDOR}
        ORDER BY time, fact_key""",
            "SELECT paid_orders, refunded_orders, refund_rate FROM kpi_refund_rate WHERE date = $key",
            _refund_rate,
        ),
        Explainer(
            "kpi_order_to_payment",
            "date",
            "minutes from order to first successful payment",
            f"""
        SELECT 'paid order' AS role, vendor || '/' || order_id AS fact_key, vendor, order_id, order_time AS time,
               total AS amount, currency,
               date_diff('millisecond', order_time, first_paid_time) / 60000.0 AS contribution,
               event_ids, run_id, 'fact_orders' AS fact
        FROM fact_orders WHERE order_time IS NOT NULL AND first_paid_time IS NOT NULL AND order_date = $key
          AND {_VENDOR}
        ORDER BY time, fact_key""",
            f"""SELECT vendor, orders, avg_minutes, negative_gaps FROM kpi_order_to_payment
                  WHERE date = $key AND {_VENDOR} ORDER BY vendor""",
            _order_to_payment,
            per_vendor=True,
        ),
        # the KPI's own selection of order lines (sql.PAID_ORDER_EVENTS)
        Explainer(
            "kpi_top_products",
            "sku",
            "NGN of the SKU's revenue (qty x unit price)",
            f"""
        WITH {PAID_ORDER_EVENTS}
        SELECT 'order line' AS role, i.event_id || '#' || CAST(i.line_no AS VARCHAR) AS fact_key, i.vendor,
               i.order_id, i.order_time AS time, i.unit_price_ngn AS amount, 'NGN' AS currency,
               i.qty * i.unit_price_ngn AS contribution, i.qty AS units, i.event_id AS event_ids,
               f.run_id, 'stg_order_items' AS fact
        FROM stg_order_items i JOIN fact_orders f ON f.vendor = i.vendor AND f.order_id = i.order_id
        WHERE i.event_id IN (SELECT event_id FROM o) AND i.sku = $key AND ($vendor = '' OR i.vendor = $vendor)
        ORDER BY time, fact_key""",
            "SELECT rank, units, revenue_ngn FROM kpi_top_products WHERE sku = $key",
            _top_product,
        ),
    )
}
