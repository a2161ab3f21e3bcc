"""Every index a query path needs, created idempotently (create_index is a no-op when present)."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel
from pymongo.database import Database

RAW = "events_raw"
QUARANTINE = "events_quarantine"
PLATFORM_RAW = "platform_raw"  # Bronze of the platform's own sources (SPEC §9)
PLATFORM_QUARANTINE = "platform_quarantine"

#: Each index and the query that reads it (an index nothing reads only slows every landing).
INDEXES: dict[str, list[IndexModel]] = {
    RAW: [
        # `_id` is the event_id: the unique key, and the natural shard key (hashed) of a sharded cluster.
        # staging.extract (window by event time), rules.completeness_counts, runner.business_days
        IndexModel([("event_time", ASCENDING)], name="event_time"),
        # staging.feed: events first landed on an ingestion day (vendor_feed_daily)
        IndexModel([("source.ingestion_day", ASCENDING)], name="ingestion_day"),
        # staging.feed: every line read on an ingestion day (duplicates included)
        IndexModel([("sightings.day", ASCENDING)], name="sighting_day"),
    ],
    QUARANTINE: [
        IndexModel([("file", ASCENDING), ("line", ASCENDING)], name="file_line"),
    ],
    PLATFORM_RAW: [
        # Silver: which keys a window of ingestion days touched, then every record of those keys.
        IndexModel(
            [
                ("source_system", ASCENDING),
                ("source.ingestion_day", ASCENDING),
                ("record_key", ASCENDING),
            ],
            name="source_day_key",
        ),
        IndexModel([("source_system", ASCENDING), ("record_key", ASCENDING)], name="source_key"),
    ],
    PLATFORM_QUARANTINE: [
        IndexModel([("file", ASCENDING), ("line", ASCENDING)], name="file_line"),
    ],
}

#: Indexes earlier versions created that no query reads any more: dropped where they exist.
RETIRED = {RAW: ("event_id_unique", "ingested_at", "event_type_vendor")}

_done: set[tuple[int, str]] = set()


def ensure_indexes(db: Database) -> None:
    key = (id(db.client), db.name)
    if key in _done:
        return
    for collection, models in INDEXES.items():
        db[collection].create_indexes(models)
    for collection, names in RETIRED.items():
        present = {index["name"] for index in db[collection].list_indexes()}
        for name in set(names) & present:
            db[collection].drop_index(name)
    _done.add(key)
