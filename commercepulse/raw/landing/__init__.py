"""Idempotent landing of events into MongoDB `events_raw` (SPEC §3).

Design for the bare `insert_many` rate: each event is encoded to BSON once, in the reading
thread, and handed to a writer thread as `RawBSONDocument`s; the writer does one unordered
`insert_many` per batch. The event id is the `_id`, so a repeat is a duplicate-key error
(no read before write). Repeats are then recorded in one bulk update per batch: a sighting
`{day, file, line}` is added to the document's set, so re-reading the same line (a re-run, a
crash half-way) changes nothing, while a genuinely repeated line raises `seen_count`.

Modules: `records` (what is landed), `codec` (bytes in and out), `writer` (the writer thread
and the per-file loop), `quarantine` (its writes during a landing), `retries` (the one MongoDB
retry policy). The names below are the package's interface.
"""

from commercepulse.raw.landing.codec import decode_object, encode, has_long_integer, iter_lines
from commercepulse.raw.landing.quarantine import OPEN
from commercepulse.raw.landing.records import (
    TAG_FIELD,
    IngestStats,
    Landing,
    Rejection,
    Sighting,
    Tagger,
    envelope,
)
from commercepulse.raw.landing.retries import TransientWriteError, with_retries
from commercepulse.raw.landing.writer import BATCH_SIZE, Item, land_all, land_files

__all__ = [
    "BATCH_SIZE",
    "OPEN",
    "TAG_FIELD",
    "IngestStats",
    "Item",
    "Landing",
    "Rejection",
    "Sighting",
    "Tagger",
    "TransientWriteError",
    "decode_object",
    "encode",
    "envelope",
    "has_long_integer",
    "iter_lines",
    "land_all",
    "land_files",
    "with_retries",
]
