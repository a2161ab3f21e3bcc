"""Figures read from the raw audit fields: late and duplicate lines per ingestion day."""

from __future__ import annotations

from datetime import date

import pandas as pd
from pymongo.database import Database

from commercepulse.mongo.indexes import RAW


def late_arrival_stats(db: Database, start: date, end: date, late_hours: float) -> pd.DataFrame:
    """kpi_late_arrivals rows for live ingestion days in [start, end).

    events: distinct live events first landed that day; late: of those, ingested more than
    `late_hours` after their event time; lines: valid lines read that day (every sighting);
    duplicate_lines: lines repeating an already-landed id = lines - events.
    """
    lo, hi = start.isoformat(), end.isoformat()
    firsts = db[RAW].aggregate(
        [
            {"$match": {"source.ingestion_day": {"$gte": lo, "$lt": hi}, "source.kind": "live"}},
            {
                "$group": {
                    "_id": "$source.ingestion_day",
                    "events": {"$sum": 1},
                    "late": {
                        "$sum": {
                            "$cond": [
                                {
                                    "$gt": [
                                        {"$subtract": ["$ingested_at", "$event_time"]},
                                        late_hours * 3_600_000,
                                    ]
                                },
                                1,
                                0,
                            ]
                        }
                    },
                }
            },
        ]
    )
    sightings = db[RAW].aggregate(
        [
            {"$match": {"sightings.day": {"$gte": lo, "$lt": hi}}},
            {"$project": {"_id": 0, "sightings.day": 1}},
            {"$unwind": "$sightings"},
            {"$match": {"sightings.day": {"$gte": lo, "$lt": hi}}},
            {"$group": {"_id": "$sightings.day", "lines": {"$sum": 1}}},
        ]
    )
    first = {d["_id"]: d for d in firsts}
    lines = {d["_id"]: d["lines"] for d in sightings}
    rows = []
    for day in sorted(set(first) | set(lines)):
        events = first.get(day, {}).get("events", 0)
        late = first.get(day, {}).get("late", 0)
        n_lines = lines.get(day, 0)
        rows.append(
            {
                "ingestion_date": pd.Timestamp(day),
                "events": events,
                "late_events": late,
                "late_pct": late / events if events else None,
                "duplicate_lines": n_lines - events,
                "lines": n_lines,
                "duplicate_rate": (n_lines - events) / n_lines if n_lines else None,
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "ingestion_date",
            "events",
            "late_events",
            "late_pct",
            "duplicate_lines",
            "lines",
            "duplicate_rate",
        ],
    )
    return frame.astype(
        {"ingestion_date": "datetime64[ns]", "late_pct": "float64", "duplicate_rate": "float64"}
    )


def landing_days_of(db: Database, events: pd.DataFrame) -> dict[str, set[str]]:
    """{ingestion day ("" = the dumps): business days} of `events` (event_id, event_date): which
    landings brought them, so those landings can be recorded again (index: _id)."""
    day_of = {
        d["_id"]: d["source"].get("ingestion_day") or ""
        for d in db[RAW].find(
            {"_id": {"$in": events["event_id"].tolist()}}, {"source.ingestion_day": 1}
        )
    }
    out: dict[str, set[str]] = {}
    for event_id, business_day in zip(events["event_id"], events["event_date"]):
        out.setdefault(day_of.get(event_id, ""), set()).add(business_day.date().isoformat())
    return out
