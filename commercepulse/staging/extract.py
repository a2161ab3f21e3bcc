"""Incremental extraction: the raw events of one event-time window, through the index."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from bson.codec_options import CodecOptions
from pymongo.database import Database

from commercepulse.mongo.indexes import RAW

PROJECTION = {
    "_id": 0,
    "event_id": 1,
    "event_type": 1,
    "event_time": 1,
    "vendor": 1,
    "payload": 1,
    "ingested_at": 1,
    "source.kind": 1,
}
COLUMNS = [
    "event_id",
    "event_type",
    "event_time",
    "vendor",
    "payload",
    "ingested_at",
    "source_kind",
]


def window_filter(start: datetime, end: datetime) -> dict:
    return {"event_time": {"$gte": start, "$lt": end}}


NAIVE_UTC = CodecOptions(tz_aware=False)  # BSON dates are UTC; naive ones convert to numpy in C


def extract_window(db: Database, start: datetime, end: datetime) -> pd.DataFrame:
    """Raw events with start <= event_time < end (index `event_time`, projected)."""
    collection = db[RAW].with_options(codec_options=NAIVE_UTC)
    return _frame(
        list(
            collection.find(window_filter(start, end), PROJECTION, batch_size=10_000).hint(
                "event_time"
            )
        )
    )


def extract_ingestion_days(db: Database, start: str, end: str) -> pd.DataFrame:
    """Live raw events first landed on ingestion days [start, end) (ISO days; index `ingestion_day`),
    with their `ingestion_day`."""
    collection = db[RAW].with_options(codec_options=NAIVE_UTC)
    docs = list(
        collection.find(
            {"source.ingestion_day": {"$gte": start, "$lt": end}, "source.kind": "live"},
            PROJECTION | {"source.ingestion_day": 1},
            batch_size=10_000,
        ).hint("ingestion_day")
    )
    return _frame(docs).assign(ingestion_day=[d["source"]["ingestion_day"] for d in docs])


def _frame(docs: list[dict]) -> pd.DataFrame:
    def times(key: str) -> pd.Series:
        return pd.Series(
            np.array([d[key] for d in docs], dtype="datetime64[ms]"), dtype="datetime64[ns]"
        ).dt.tz_localize("UTC")

    return pd.DataFrame(
        {
            "event_id": [d["event_id"] for d in docs],
            "event_type": [d["event_type"] for d in docs],
            "event_time": times("event_time"),
            "vendor": [d.get("vendor") for d in docs],
            "payload": [d.get("payload") for d in docs],
            "ingested_at": times("ingested_at"),
            "source_kind": [d["source"]["kind"] for d in docs],
        },
        columns=COLUMNS,
    )


def event_counts_by_day(db: Database, start: datetime, end: datetime) -> dict[str, int]:
    """Raw events per UTC day of [start, end) (an index-only aggregation)."""
    pipeline = [
        {"$match": window_filter(start, end)},
        {"$project": {"_id": 0, "event_time": 1}},
        {
            "$group": {
                "_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$event_time"}},
                "n": {"$sum": 1},
            }
        },
    ]
    return {
        d["_id"]: d["n"]
        for d in sorted(db[RAW].aggregate(pipeline, hint="event_time"), key=lambda d: d["_id"])
    }


def days_with_events(db: Database, start: datetime, end: datetime) -> list[str]:
    return list(event_counts_by_day(db, start, end))


def chunk_days(
    counts: dict[str, int], max_events: int, max_days: int = 31
) -> list[tuple[str, str]]:
    """Group days (sorted ISO keys) into inclusive (first, last) chunks of at most `max_events`
    events (a single larger day is its own chunk) and `max_days` calendar days."""
    from datetime import date

    chunks: list[tuple[str, str]] = []
    total = 0
    for day, n in counts.items():
        if (
            chunks
            and total + n <= max_events
            and (date.fromisoformat(day) - date.fromisoformat(chunks[-1][0])).days < max_days
        ):
            chunks[-1] = (chunks[-1][0], day)
            total += n
        else:
            chunks.append((day, day))
            total = n
    return chunks
