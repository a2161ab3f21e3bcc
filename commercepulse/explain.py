"""Explain a KPI figure: the fact rows behind it, and for each the raw events, where they were
read (file, line, ingestion day) and the run that wrote the row.

One table-driven `Explainer` per KPI: the fact rows' SQL (each row with its contribution to the
figure), the KPI row's SQL, and how listed rows add up to each of the KPI's columns. The figure
is re-derived from the listed rows the way the KPI's own SQL derives it (sums rounded to the cent,
averages to 4 decimals), so `matches` is an exact comparison, not a tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from pymongo.database import Database

from commercepulse.errors import InputError
from commercepulse.mongo.indexes import RAW
from commercepulse.warehouse.base import Warehouse
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


@dataclass
class Explanation:
    """A figure, the rows behind it, and whether they add up to it exactly."""

    kpi: str
    key: str
    vendor: str | None
    contribution: str
    figure: dict[str, Any]
    listed: dict[str, Any]
    rows: list[dict[str, Any]]

    @property
    def matches(self) -> bool | None:
        """The listed rows add up to the KPI exactly (None: a vendor's share of an all-vendor KPI)."""
        if "all_vendors" in self.figure:
            return None
        return all(
            self.figure.get(name) == value
            for name, value in self.listed.items()
            if name in self.figure
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi,
            "key": self.key,
            "vendor": self.vendor,
            "contribution": self.contribution,
            "figure": self.figure,
            "listed": self.listed,
            "matches": self.matches,
            "rows": self.rows,
        }


def _events(db: Database, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Where each raw event was read (by `_id`, the event id)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 10_000):
        for doc in db[RAW].find(
            {"_id": {"$in": ids[start : start + 10_000]}},
            {"event_type": 1, "source": 1, "seen_count": 1},
        ):
            source = doc.get("source", {})
            found[doc["_id"]] = {
                "event_id": doc["_id"],
                "event_type": doc.get("event_type"),
                "file": source.get("file"),
                "line": source.get("line"),
                "ingestion_day": source.get("ingestion_day"),
                "kind": source.get("kind"),
                "seen_count": doc.get("seen_count"),
            }
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if (
        value is None
        or (isinstance(value, float) and pd.isna(value))
        or value is pd.NA
        or value is pd.NaT
    ):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def latest_key(warehouse: Warehouse, kpi: str) -> str:
    """The key an explanation defaults to: the KPI's latest day, or its top SKU."""
    explainer = _explainer(kpi)
    table = explainer.kpi
    sql = (
        f"SELECT CAST(max(date) AS VARCHAR) AS k FROM {table}"
        if explainer.key == "date"
        else f"SELECT sku AS k FROM {table} ORDER BY rank LIMIT 1"
    )
    found = warehouse.query(sql)
    if found.empty or found["k"].isna().all():
        raise InputError(f"{kpi} has no rows yet: materialize it first")
    return str(found["k"].iat[0])[:10] if explainer.key == "date" else str(found["k"].iat[0])


def _explainer(kpi: str) -> Explainer:
    explainer = EXPLAINERS.get(kpi)
    if explainer is None:
        raise InputError(f"cannot explain {kpi!r}: choose one of {', '.join(EXPLAINERS)}")
    return explainer


def explain(
    warehouse: Warehouse, db: Database, kpi: str, key: str, vendor: str | None = None
) -> Explanation:
    """The fact rows and raw events behind one KPI figure."""
    explainer = _explainer(kpi)
    if explainer.key == "date":
        try:
            key_value: Any = date.fromisoformat(key)
        except ValueError:
            raise InputError(f"{kpi} is explained by day: give YYYY-MM-DD, got {key!r}") from None
    else:
        key_value = key
    params = {"key": key_value, "vendor": vendor or ""}
    used = lambda sql: {k: v for k, v in params.items() if f"${k}" in sql}  # noqa: E731
    figure_rows = warehouse.query(explainer.figure_sql, used(explainer.figure_sql))
    if figure_rows.empty:
        raise InputError(
            f"{kpi} has no row for {explainer.key} {key}"
            + (f" and vendor {vendor}" if vendor else "")
        )
    rows = warehouse.query(explainer.rows_sql, used(explainer.rows_sql))
    if explainer.per_vendor and not vendor and len(figure_rows) > 1:
        figure = {
            "vendors": [
                {k: _plain(v) for k, v in r.items()} for r in figure_rows.to_dict("records")
            ]
        }
        listed = {
            "vendors": [
                {"vendor": v, **explainer.reconcile(rows[rows["vendor"] == v])}
                for v in figure_rows["vendor"]
            ]
        }
    else:
        figure = {k: _plain(v) for k, v in figure_rows.iloc[0].to_dict().items() if k != "vendor"}
        listed = explainer.reconcile(rows)
        if vendor and not explainer.per_vendor:
            # the KPI is not per vendor: the vendor's rows are a part of the figure, not all of it
            figure = {"all_vendors": figure}
    ids = sorted({i for cell in rows["event_ids"] for i in str(cell).split(",") if i})
    where = _events(db, ids)
    records = []
    for row in rows.to_dict("records"):
        record = {k: _plain(v) for k, v in row.items() if k != "event_ids"}
        record["events"] = [
            where.get(i, {"event_id": i, "missing": True}) for i in str(row["event_ids"]).split(",")
        ]
        records.append(record)
    return Explanation(kpi, key, vendor, explainer.contribution, figure, listed, records)
