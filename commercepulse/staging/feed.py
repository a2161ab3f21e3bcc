"""Vendor feed figures per live ingestion day: what each vendor sent, and how well.

The events first landed on an ingestion day are normalized by the same vendor mapping as
staging, so "unmapped" and "payment succeeded" mean exactly what they mean in the warehouse;
duplicate lines come from the raw sightings (every line read that day), as in
`kpi_late_arrivals`.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from pymongo.database import Database

from commercepulse.days import days_between
from commercepulse.mapping import SHAPES_BY_KIND, ShapesByKind
from commercepulse.mongo.indexes import RAW
from commercepulse.staging.extract import extract_ingestion_days
from commercepulse.staging.normalize import normalize
from commercepulse.warehouse.tables import ALL_TABLES

COLUMNS = ALL_TABLES["vendor_feed_daily"].names
#: Canonical frame -> the feed column counting its events.
KIND_COLUMNS = {
    "stg_orders": "orders",
    "stg_payments": "payments",
    "stg_refunds": "refunds",
    "stg_shipments": "shipments",
    "stg_order_updates": "updates",
    "stg_unmapped": "unmapped",
}
UNKNOWN = "unknown"


def _lines(db: Database, lo: str, hi: str) -> pd.DataFrame:
    """Valid lines read per (ingestion day, vendor): every sighting of a live event."""
    rows = db[RAW].aggregate(
        [
            {"$match": {"sightings.day": {"$gte": lo, "$lt": hi}, "source.kind": "live"}},
            {"$project": {"_id": 0, "vendor": 1, "sightings.day": 1}},
            {"$unwind": "$sightings"},
            {"$match": {"sightings.day": {"$gte": lo, "$lt": hi}}},
            {
                "$group": {
                    "_id": {"day": "$sightings.day", "vendor": "$vendor"},
                    "lines": {"$sum": 1},
                }
            },
        ]
    )
    return pd.DataFrame(
        [
            {
                "ingestion_date": d["_id"]["day"],
                "vendor": d["_id"].get("vendor") or UNKNOWN,
                "lines": d["lines"],
            }
            for d in rows
        ],
        columns=["ingestion_date", "vendor", "lines"],
    )


def feed_figures(
    db: Database,
    start: date,
    end: date,
    rates: pd.DataFrame,
    late_hours: float,
    shapes: ShapesByKind = SHAPES_BY_KIND,
) -> pd.DataFrame:
    """vendor_feed_daily rows (without the judgement columns) for ingestion days [start, end), one
    day at a time (a year's backfill holds one day's events in memory, as staging holds a chunk)."""
    days = [_day_figures(db, day, rates, late_hours, shapes) for day in days_between(start, end)]
    days = [frame for frame in days if not frame.empty]
    return pd.concat(days, ignore_index=True) if days else pd.DataFrame(columns=COLUMNS)


def _day_figures(
    db: Database, day: date, rates: pd.DataFrame, late_hours: float, shapes: ShapesByKind
) -> pd.DataFrame:
    lo, hi = day.isoformat(), (day + timedelta(days=1)).isoformat()
    events = extract_ingestion_days(db, lo, hi)
    if events.empty:
        return pd.DataFrame(columns=COLUMNS)
    day_of = dict(zip(events["event_id"], events["ingestion_day"]))
    events = events.assign(vendor=events["vendor"].fillna(UNKNOWN))
    keys = ["ingestion_date", "vendor"]
    lag = (events["ingested_at"] - events["event_time"]).dt.total_seconds() / 60
    base = pd.DataFrame(
        {
            "ingestion_date": events["ingestion_day"],
            "vendor": events["vendor"],
            "lag": lag,
            "late": lag > late_hours * 60,
        }
    )
    out = base.groupby(keys).agg(
        events=("lag", "size"), late_events=("late", "sum"), median_lag_minutes=("lag", "median")
    )
    frames = normalize(events.drop(columns=["ingestion_day"]), rates, late_hours, shapes)
    vendor_of = dict(zip(events["event_id"], events["vendor"]))
    for frame_name, column in KIND_COLUMNS.items():
        frame = frames[frame_name]
        ids = frame["event_id"].drop_duplicates()
        counted = pd.DataFrame({"ingestion_date": ids.map(day_of), "vendor": ids.map(vendor_of)})
        out[column] = counted.groupby(keys).size().reindex(out.index, fill_value=0)
    payments = frames["stg_payments"]
    attempts = pd.DataFrame(
        {
            "ingestion_date": payments["event_id"].map(day_of),
            "vendor": payments["event_id"].map(vendor_of),
            "success": payments["status"].eq("SUCCESS"),
        }
    )
    grouped = attempts.groupby(keys)["success"]
    out["payment_attempts"] = grouped.size().reindex(out.index, fill_value=0)
    out["payment_success_rate"] = (grouped.sum() / grouped.size()).reindex(out.index)
    lines = _lines(db, lo, hi).set_index(keys)["lines"]
    out["lines"] = lines.reindex(out.index).fillna(out["events"]).astype("int64")
    out["duplicate_lines"] = out["lines"] - out["events"]
    out["duplicate_rate"] = out["duplicate_lines"] / out["lines"]
    out["late_pct"] = out["late_events"] / out["events"]
    out["unmapped_share"] = out["unmapped"] / out["events"]
    out = out.reset_index()
    out["ingestion_date"] = pd.to_datetime(out["ingestion_date"])
    out["median_lag_minutes"] = out["median_lag_minutes"].round(4)
    for column in COLUMNS:
        if column not in out:
            out[column] = None
    return out[COLUMNS].sort_values(keys).reset_index(drop=True)
