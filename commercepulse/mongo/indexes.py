"""Every index a query path needs, created idempotently (create_index is a no-op when present)."""
from __future__ import annotations

from pymongo import ASCENDING, IndexModel
from pymongo.database import Database

RAW = "events_raw"
QUARANTINE = "events_quarantine"
PLATFORM_RAW = "platform_raw"  # Bronze of the platform's own sources (SPEC §9)
PLATFORM_QUARANTINE = "platform_quarantine"

INDEXES: dict[str, list[IndexModel]] = {
    RAW: [
        # _id is the event_id (unique by construction); this one states the contract explicitly.
        IndexModel([("event_id", ASCENDING)], unique=True, name="event_id_unique"),
        IndexModel([("event_time", ASCENDING)], name="event_time"),
        IndexModel([("ingested_at", ASCENDING)], name="ingested_at"),
        IndexModel([("event_type", ASCENDING), ("vendor", ASCENDING)], name="event_type_vendor"),
        IndexModel([("source.ingestion_day", ASCENDING)], name="ingestion_day"),
        IndexModel([("sightings.day", ASCENDING)], name="sighting_day"),
    ],
    QUARANTINE: [
        IndexModel([("file", ASCENDING), ("line", ASCENDING)], name="file_line"),
    ],
    PLATFORM_RAW: [
        # Silver: which keys a window of ingestion days touched, then every record of those keys.
        IndexModel([("source_system", ASCENDING), ("source.ingestion_day", ASCENDING), ("record_key", ASCENDING)],
                   name="source_day_key"),
        IndexModel([("source_system", ASCENDING), ("record_key", ASCENDING)], name="source_key"),
    ],
    PLATFORM_QUARANTINE: [
        IndexModel([("file", ASCENDING), ("line", ASCENDING)], name="file_line"),
    ],
}

_done: set[tuple[int, str]] = set()


def ensure_indexes(db: Database) -> None:
    key = (id(db.client), db.name)
    if key in _done:
        return
    for collection, models in INDEXES.items():
        db[collection].create_indexes(models)
    _done.add(key)
