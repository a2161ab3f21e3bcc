"""Provisional or final: each vendor's measured lateness, and the last business day it makes final.

For each vendor, each event day D of its live stream has a lateness: the hours between D's end
and the arrival (`ingested_at`) of D's last event, 0 when everything arrived by then. The
vendor's lateness is the FINAL_LAG_QUANTILE of that over the event days of the trailing
FINAL_LAG_WINDOW_DAYS before its watermark (its newest live event's arrival). A business day is
final for the vendor once its end plus that lateness is not after the watermark: the vendor's
own history says nothing more is expected. A day is final overall when it is final for every
vendor with a live stream; a vendor with only dumps never holds a day back.

Why per day and not per event: the 99th percentile of event lags lets 1 % of every day's events
arrive after the day is called final, so nearly every day would be restated after it; the 99th
percentile of each day's *last* arrival lets about one day in a hundred be restated after final
(and `final_day_restated` says which).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from commercepulse.warehouse.schema.staging import EVENT_TABLES

if TYPE_CHECKING:  # gold_sql imports this module while the schema (which base reads) loads
    from commercepulse.warehouse.base import Warehouse


#: Each vendor's live event days in the window before its watermark: the day's last arrival.
LAST_ARRIVALS = (
    "WITH live AS ("
    + " UNION ALL ".join(
        f"SELECT vendor, event_date, ingested_at FROM {t} WHERE source_kind = 'live'"
        for t in EVENT_TABLES
    )
    + """),
mark AS (SELECT vendor, max(ingested_at) AS watermark FROM live GROUP BY vendor)
SELECT l.vendor, l.event_date, max(l.ingested_at) AS last_arrival, m.watermark
FROM live l JOIN mark m ON m.vendor = l.vendor
WHERE date_diff('second', l.ingested_at, m.watermark) <= $window_s
GROUP BY l.vendor, l.event_date, m.watermark"""
)

#: The UPDATEs that mark a KPI table's days final (overall, or per vendor for a per-vendor KPI).
FAR = "DATE '9999-12-31'"


def final_overall(table: str) -> str:
    return (
        f"UPDATE {table} SET is_final = date <= coalesce((SELECT min(final_through) "
        f"FROM kpi_vendor_lateness), {FAR}) WHERE true"
    )


def final_per_vendor(table: str) -> str:
    return (
        f"UPDATE {table} SET is_final = date <= coalesce((SELECT l.final_through "
        f"FROM kpi_vendor_lateness l WHERE l.vendor = {table}.vendor), {FAR}) WHERE true"
    )


COLUMNS = [
    "vendor",
    "event_days",
    "lag_quantile",
    "lag_hours",
    "watermark",
    "final_through",
    "window_days",
]


def vendor_lateness(warehouse: Warehouse, quantile: float, window_days: int) -> pd.DataFrame:
    """The rows of `kpi_vendor_lateness` (one per vendor with a live stream)."""
    days = warehouse.query(LAST_ARRIVALS, {"window_s": window_days * 86_400})
    return lateness_of(days, quantile, window_days)


def lateness_of(days: pd.DataFrame, quantile: float, window_days: int) -> pd.DataFrame:
    """From (vendor, event_date, last_arrival, watermark) rows: each vendor's lateness and the
    last business day it makes final."""
    if days.empty:
        return pd.DataFrame(columns=COLUMNS)
    ends = pd.to_datetime(days["event_date"]).dt.tz_localize("UTC") + pd.Timedelta(days=1)
    arrivals = pd.to_datetime(days["last_arrival"], utc=True)
    hours = ((arrivals - ends).dt.total_seconds() / 3600).clip(lower=0)
    per = days.assign(hours=hours).groupby("vendor", sort=True)
    out = per.agg(
        event_days=("event_date", "nunique"),
        lag_hours=("hours", lambda h: float(h.quantile(quantile, interpolation="higher"))),
        watermark=("watermark", "max"),
    ).reset_index()
    watermark = pd.to_datetime(out["watermark"], utc=True)
    # day D is final when D + 1 day + lag <= watermark: D <= floor(watermark - lag) - 1 day
    limit = (watermark - pd.to_timedelta(out["lag_hours"], unit="h")).dt.floor("D")
    out["final_through"] = (limit - pd.Timedelta(days=1)).dt.tz_localize(None)
    out["lag_hours"] = out["lag_hours"].round(4)
    out["watermark"] = watermark
    out["lag_quantile"] = float(quantile)
    out["window_days"] = int(window_days)
    return out[COLUMNS]
