"""Explain a KPI figure: the fact rows behind it, and for each the raw events, where they were
read (file, line, ingestion day) and the run that wrote the row.

One table-driven `Explainer` per KPI: the fact rows' SQL (each row with its contribution to the
figure), the KPI row's SQL, and how listed rows add up to each of the KPI's columns. The figure
is re-derived from the listed rows the way the KPI's own SQL derives it (sums rounded to the cent,
averages to 4 decimals), so `matches` is an exact comparison, not a tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from pymongo.database import Database

from commercepulse.errors import InputError
from commercepulse.lib.privacy import mask_personal
from commercepulse.mongo.indexes import RAW
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.explainers import EXPLAINERS, Explainer


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
        records.append(mask_personal(record))  # rows behind a figure, shown: no personal data
    return Explanation(kpi, key, vendor, explainer.contribution, figure, listed, records)
