"""Which landings brought a set of events (read from the raw audit fields)."""

from __future__ import annotations

import pandas as pd
from pymongo.database import Database

from commercepulse.mongo.indexes import RAW


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
