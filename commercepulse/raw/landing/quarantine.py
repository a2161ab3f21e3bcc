"""The quarantine's writes during a landing: rejected lines kept whole with their reason, and the
records of lines that land later (a fixed file) closed. The replay lives in `raw/quarantine.py`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pymongo import InsertOne, UpdateMany
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from commercepulse.raw.landing.records import Landing, Rejection

DUPLICATE_KEY = 11000
#: Characters of a server's reason kept in a quarantine record (its field paths can be long).
REASON_KEEP = 300


#: A quarantine record whose line has not landed since (see raw/quarantine.py).
OPEN = {"resolved_at": {"$exists": False}}


def _rejected(reason: str) -> str:
    """A quarantine reason for a document the server refused (its field paths can be long)."""
    return f"write rejected by MongoDB: {reason[:REASON_KEEP]}"


def quarantine(collection: Collection, rejects: list[Rejection], now: datetime) -> None:
    """Insert the rejected lines' records; one already there (the same file:line) stays."""
    ops = [InsertOne(r.as_doc(now)) for r in rejects]
    try:
        collection.bulk_write(ops, ordered=False)
    except BulkWriteError as exc:
        others = [e for e in exc.details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY]
        if others:
            raise


def resolve_landed(collection: Collection, landed: Iterable[Landing], now: datetime) -> None:
    """Close the open records of lines that have now landed."""
    lines: dict[str, list[int]] = {}
    for item in landed:
        lines.setdefault(item.sighting.file, []).append(item.sighting.line)
    collection.bulk_write(
        [
            UpdateMany(
                {"file": file, "line": {"$in": numbers}, **OPEN},
                {"$set": {"resolved_at": now, "resolution": "landed"}},
            )
            for file, numbers in lines.items()
        ],
        ordered=False,
    )
