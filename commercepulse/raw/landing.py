"""Idempotent landing of events into MongoDB `events_raw` (SPEC §3).

Design for the bare `insert_many` rate: each event is encoded to BSON once, in the reading
thread, and handed to a writer thread as `RawBSONDocument`s; the writer does one unordered
`insert_many` per batch. The event id is the `_id`, so a repeat is a duplicate-key error
(no read before write). Repeats are then recorded in one bulk update per batch: a sighting
`{day, file, line}` is added to the document's set, so re-reading the same line (a re-run, a
crash half-way) changes nothing, while a genuinely repeated line raises `seen_count`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import bson
import orjson
from bson.decimal128 import Decimal128
from bson.errors import InvalidDocument
from bson.raw_bson import RawBSONDocument
from pymongo import InsertOne, UpdateMany, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, OperationFailure

from commercepulse.days import utc_now
from commercepulse.gcpause import paused_gc
from commercepulse.mongo.indexes import QUARANTINE, RAW

DUPLICATE_KEY = 11000
BATCH_SIZE = 5000
#: Characters of a server's reason kept in a quarantine record (its field paths can be long).
REASON_KEEP = 300
#: Event ids a writer remembers having sent (~150 bytes each): repeats of them skip the insert.
SENT_IDS_KEPT = 500_000
#: Server error codes of a write that may succeed when sent again (elections, shutdowns, timeouts).
RETRYABLE_CODES = {6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436}
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)  # ~15 s: longer than a replica-set election
log = logging.getLogger("commercepulse.landing")


class TransientWriteError(RuntimeError):
    """MongoDB stayed unreachable through every retry of a write."""


def with_retries(write: Callable[[], Any], what: str) -> Any:
    """Run an idempotent write, retrying transient connection failures with backoff."""
    for delay in (*RETRY_DELAYS, None):
        try:
            return write()
        except ConnectionFailure as exc:
            if delay is None:
                raise TransientWriteError(
                    f"MongoDB unavailable ({what}): {exc}; the landing is idempotent: run "
                    "the same ingestion again once the server is back"
                ) from exc
            log.warning(
                "MongoDB unavailable (%s, %s): retrying in %.1f s", what, type(exc).__name__, delay
            )
            time.sleep(delay)


@dataclass
class IngestStats:
    """What one ingestion did. Invariant: lines_read = landed + duplicates + quarantined."""

    files: int = 0
    lines_read: int = 0
    landed: int = 0
    duplicates: int = 0
    quarantined: int = 0
    blank_lines: int = 0
    business_days: set[str] = field(default_factory=set)

    def summary(self) -> dict[str, Any]:
        """For a log line: the counts, and how many business days were touched."""
        return self.as_dict() | {"business_days": len(self.business_days)}

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "lines_read": self.lines_read,
            "landed": self.landed,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "blank_lines": self.blank_lines,
            "business_days": sorted(self.business_days),
        }

    def merge(self, other: IngestStats) -> None:
        for name in ("files", "lines_read", "landed", "duplicates", "quarantined", "blank_lines"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.business_days |= other.business_days


@dataclass(frozen=True)
class Sighting:
    """Where a line was read: the ingestion day, the file key and the 1-based line (or record)."""

    day: str
    file: str
    line: int

    def as_doc(self) -> dict[str, Any]:
        return {"day": self.day, "file": self.file, "line": self.line}


@dataclass
class Landing:
    """One event ready to write: its BSON bytes plus what the writer needs without decoding.
    `doc`: the envelope, kept until a tagger has tagged it (see `Tagger`)."""

    event_id: str
    raw: RawBSONDocument
    sighting: Sighting
    business_day: str
    doc: dict | None = None


#: Tags a batch of envelopes (one small document each, stored in the event's TAG_FIELD): what
#: downstream counts of the event, decided while the landing holds it (staging.feed_tags).
Tagger = Callable[[list[dict]], list[dict]]
#: The field a tagger's tag is stored in.
TAG_FIELD = "feed"
#: Envelopes tagged per call: a tagger's per-call cost (pandas) is amortized over more events
#: (the feed tagger, measured alone: 27 µs an event in calls of 5,000, 15 µs in calls of 20,000).
TAG_EVENTS = 20_000


def tag_element(tag: dict) -> bytes:
    """`TAG_FIELD: tag` as one encoded BSON element (an embedded document)."""
    return b"\x03" + TAG_FIELD.encode() + b"\x00" + bson.encode(tag)


def with_tag(raw: RawBSONDocument, element: bytes) -> RawBSONDocument:
    """The encoded document with a `tag_element` appended (BSON: length, elements, NUL), without
    encoding the event again."""
    data = raw.raw
    return RawBSONDocument(
        (len(data) + len(element)).to_bytes(4, "little", signed=True)
        + data[4:-1]
        + element
        + b"\x00"
    )


@dataclass
class Rejection:
    """A line that cannot land: kept whole in `events_quarantine` with the reason."""

    sighting: Sighting
    reason: str
    raw_text: str
    raw_bytes: bytes | None = None

    def as_doc(self, now: datetime) -> dict[str, Any]:
        """The quarantine record; a line too long for one MongoDB document keeps its first
        QUARANTINE_KEEP characters, its length and digest (the file still holds it whole)."""
        key = f"{self.sighting.file}:{self.sighting.line}"
        doc: dict[str, Any] = {
            "_id": hashlib.sha1(key.encode()).hexdigest(),
            "file": self.sighting.file,
            "line": self.sighting.line,
            "day": self.sighting.day,
            "reason": self.reason,
            "raw_text": self.raw_text[:QUARANTINE_KEEP],
            "quarantined_at": now,
        }
        if len(self.raw_text) > QUARANTINE_KEEP:
            doc.update(
                truncated=True,
                raw_length=len(self.raw_text),
                raw_sha256=hashlib.sha256(
                    self.raw_text.encode("utf-8", "surrogatepass")
                ).hexdigest(),
            )
        if self.raw_bytes is not None:
            doc["raw_bytes"] = bson.Binary(self.raw_bytes[:QUARANTINE_KEEP])
        return doc


def envelope(
    *,
    event_id: str,
    event_type: str,
    event_time: datetime,
    vendor: str | None,
    payload: Any,
    ingested_at: datetime,
    kind: str,
    sighting: Sighting,
    now: datetime,
) -> dict[str, Any]:
    """The stored document (SPEC §3): the payload verbatim plus envelope and audit fields."""
    return {
        "_id": event_id,
        "event_id": event_id,
        "event_type": event_type,
        "event_time": event_time,
        "vendor": vendor,
        "payload": payload,
        "ingested_at": ingested_at,
        "source": {
            "kind": kind,
            "file": sighting.file,
            "line": sighting.line,
            "ingestion_day": sighting.day,
        },
        "seen_count": 1,
        "first_seen_at": now,
        "last_seen_at": now,
        "sightings": [sighting.as_doc()],
    }


#: Characters of a rejected line kept in its quarantine record (a record must fit in 16 MB).
QUARANTINE_KEEP = 1_000_000
#: MongoDB's document limit, less room for the audit fields a repeat adds.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024 - 64 * 1024


#: A quarantine record whose line has not landed since (see raw/quarantine.py).
OPEN = {"resolved_at": {"$exists": False}}

#: What the first copy of an event decides; repeats only add sightings.
ENVELOPE_FIELDS = (
    "event_type",
    "event_time",
    "vendor",
    "payload",
    "ingested_at",
    "source",
    TAG_FIELD,
)


def _rejected(reason: str) -> str:
    """A quarantine reason for a document the server refused (its field paths can be long)."""
    return f"write rejected by MongoDB: {reason[:REASON_KEEP]}"


def _order(sighting: Sighting) -> tuple[str, str, int]:
    return sighting.day, sighting.file, sighting.line


def _stored_order(stored: dict | None) -> tuple[str, str, int]:
    if not stored:
        return ("", "", -1)  # nothing stored to compare with: nothing is "earlier"
    source = stored["source"]
    return source.get("ingestion_day") or "", source["file"], source["line"]


def encode(doc: dict[str, Any]) -> RawBSONDocument:
    """BSON-encode once; raises (OverflowError, InvalidDocument) for values BSON cannot hold,
    and InvalidDocument for a document larger than MongoDB stores."""
    data = bson.encode(doc)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidDocument(f"document of {len(data):,} bytes exceeds MongoDB's 16 MB limit")
    return RawBSONDocument(data)


class RawWriter:
    """Writes batches of landings and rejections from a background thread (bounded queue)."""

    def __init__(
        self,
        db: Database,
        now: datetime,
        batch_size: int = BATCH_SIZE,
        on_batch: Callable[[int], None] | None = None,
        raw: str = RAW,
        quarantine: str = QUARANTINE,
        tagger: Tagger | None = None,
    ) -> None:
        self.raw = db[raw]
        self._tagger = tagger
        self.quarantine = db[quarantine]
        self.now = now
        self.batch_size = batch_size
        self.stats = IngestStats()
        self._on_batch = on_batch
        self._items: list[Landing] = []
        self._rejects: list[Rejection] = []
        self._held: list[tuple[list[Landing], list[Rejection]]] = []  # batches awaiting tags
        self._held_events = 0
        # room for a whole tagged group of batches, so the reader never waits for the writer to
        # drain one before it reads on (reading and writing overlap as without a tagger)
        held = -(-TAG_EVENTS // batch_size) if tagger is not None else 0
        self._queue: queue.Queue = queue.Queue(maxsize=2 + held)
        self._error: BaseException | None = None
        # lines quarantined earlier may land now (a fixed file): their records are closed as they land
        self._open_quarantine = self.quarantine.find_one(OPEN, {"_id": 1}) is not None
        self._sent: dict[str, tuple[str, str, int]] = {}  # event id -> its first copy sent
        self._thread = threading.Thread(target=self._run, name="raw-writer", daemon=True)
        self._thread.start()

    # -- producer side -------------------------------------------------------------------
    def add(self, item: Landing | Rejection) -> None:
        self.stats.lines_read += 1
        if isinstance(item, Landing):
            self._items.append(item)
        else:
            self._rejects.append(item)
        if len(self._items) + len(self._rejects) >= self.batch_size:
            self._submit()

    def blank(self) -> None:
        self.stats.blank_lines += 1

    def close(self) -> IngestStats:
        self._submit(final=True)
        self._queue.put(None)
        self._thread.join()
        if self._error:
            raise self._error
        return self.stats

    def _submit(self, final: bool = False) -> None:
        """Hand the batch to the writer; with a tagger, batches wait until TAG_EVENTS events are
        held (or the input ends), are tagged in one call, then handed over in order."""
        if self._error:
            raise self._error
        if self._items or self._rejects:
            self._held.append((self._items, self._rejects))
            self._held_events += len(self._items)
            self._items, self._rejects = [], []
        if self._held and (final or self._tagger is None or self._held_events >= TAG_EVENTS):
            self._tag([item for items, _ in self._held for item in items])
            for work in self._held:
                self._queue.put(work)
            self._held, self._held_events = [], 0

    def _tag(self, items: list[Landing]) -> None:
        """Tag the envelopes in one call (in this, the reading thread), then let go of them."""
        held = [item for item in items if item.doc is not None]
        if self._tagger is not None and held:
            try:
                tags = self._tagger([item.doc for item in held])
            except Exception:  # a tag is derived: it never stops an event from landing
                log.warning(
                    "could not tag %d events (they land untagged; the vendor feed classifies "
                    "their days itself)",
                    len(held),
                    exc_info=True,
                )
            else:
                elements: dict[tuple, bytes] = {}  # a batch holds a dozen distinct tags
                for item, tag in zip(held, tags, strict=True):
                    key = tuple(tag.items())
                    if key not in elements:
                        elements[key] = tag_element(tag)
                    item.raw = with_tag(item.raw, elements[key])
        for item in held:
            item.doc = None

    # -- writer thread -------------------------------------------------------------------
    def _run(self) -> None:
        while (work := self._queue.get()) is not None:
            if self._error:
                continue
            try:
                self._write(*work)
            except BaseException as exc:  # surfaced to the producer on its next call
                self._error = exc

    def _known_repeats(self, items: list[Landing]) -> tuple[list[Landing], list[Landing]]:
        """(repeats of an event this writer already sent, the rest to insert). A repeat sent in an
        insert fails on the duplicate key, and one failure in a server-side group of inserts
        makes MongoDB redo the group one document at a time: 5% repeats cost ~60% more server
        time (measured on 100k lines). A copy later by (day, file, line) than the one this writer
        sent is never the first copy, so it is only a sighting to record."""
        repeats, fresh = [], []
        for item in items:
            first = self._sent.get(item.event_id)
            if first is not None and _order(item.sighting) > first:
                repeats.append(item)
            else:
                fresh.append(item)
                if first is None and len(self._sent) < SENT_IDS_KEPT:
                    self._sent[item.event_id] = _order(item.sighting)
        return repeats, fresh

    def _write(self, items: list[Landing], rejects: list[Rejection]) -> None:
        repeats, items = self._known_repeats(items)
        duplicate_idx, retried, failed = self._insert(items) if items else ([], set(), {})
        for index in failed:  # not stored: its repeats are sent as inserts after all
            if self._sent.get(items[index].event_id) == _order(items[index].sighting):
                del self._sent[items[index].event_id]
        unstored = [item for item in repeats if item.event_id not in self._sent]
        repeats = [item for item in repeats if item.event_id in self._sent]
        stored = self._stored_sources(items, duplicate_idx)
        own = {i for i in retried if self._is_own(items[i], stored.get(items[i].event_id))}
        duplicate_idx = [
            i for i in duplicate_idx if i not in own
        ]  # a retried insert that had already landed
        earlier = {
            i
            for i in duplicate_idx
            if _order(items[i].sighting) < _stored_order(stored.get(items[i].event_id))
        }
        ops = [op for item in repeats for op in self._repeat_ops(item, False)]
        ops += [op for i in duplicate_idx for op in self._repeat_ops(items[i], i in earlier)]
        if ops:
            with_retries(
                lambda: self.raw.bulk_write(ops, ordered=False), "record repeated sightings"
            )
        for index, reason in failed.items():
            item = items[index]
            rejects.append(Rejection(item.sighting, reason, item.raw.raw.hex()))
        if rejects:
            with_retries(lambda: self._quarantine(rejects), "quarantine rejected lines")
        landed = [item for i, item in enumerate(items) if i not in failed] + repeats
        if self._open_quarantine and landed:
            with_retries(
                lambda: self._resolve_quarantined(landed),
                "close quarantine records of landed lines",
            )
        self.stats.duplicates += len(duplicate_idx) + len(repeats)
        self.stats.landed += len(landed) - len(duplicate_idx) - len(repeats)
        self.stats.quarantined += len(rejects)
        dup_set = (
            set(duplicate_idx) - earlier
        )  # an earlier copy replaces the stored one: its day changes too
        self.stats.business_days.update(
            item.business_day
            for i, item in enumerate(items)
            if i not in failed and i not in dup_set
        )
        if self._on_batch:
            self._on_batch(len(items) + len(repeats) + len(rejects) - len(failed))
        if unstored:
            self._write(unstored, [])

    def _insert(self, items: list[Landing]) -> tuple[list[int], set[int], dict[int, str]]:
        """Insert a batch, unordered; returns (indexes that hit an existing event id, those of them
        that hit it on a retry, indexes MongoDB rejected with why). Transient failures (failover, a
        restarting server) are retried with backoff: ids an earlier attempt wrote come back as
        duplicates on the retry and are sorted out by the caller. A duplicate on the first attempt
        is never this ingestion's own write, even when another ingestion landed the same line
        within the same millisecond."""
        pending, duplicates, retried, failed = list(range(len(items))), [], set(), {}
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                self.raw.insert_many([items[i].raw for i in pending], ordered=False)
                return duplicates, retried, failed
            except BulkWriteError as exc:
                retry = []
                for err in exc.details.get("writeErrors", []):
                    index = pending[err["index"]]
                    if err.get("code") == DUPLICATE_KEY:
                        duplicates.append(index)
                        if attempt:
                            retried.add(index)
                    elif err.get("code") in RETRYABLE_CODES:
                        retry.append(index)
                    else:
                        failed[index] = _rejected(str(err.get("errmsg")))
                if not retry and not exc.details.get("writeConcernErrors"):
                    return duplicates, retried, failed
                settled = set(duplicates) | failed.keys()  # decided: never sent again
                pending = retry or [i for i in pending if i not in settled]
                error: Exception = exc
            except ConnectionFailure as exc:  # the whole batch's fate is unknown: send it again
                error = exc
            except OperationFailure as exc:
                if exc.code not in RETRYABLE_CODES:  # the server refused the whole command
                    self._insert_each(items, pending, duplicates, retried, failed)
                    return duplicates, retried, failed
                error = exc
            if delay is None:
                raise TransientWriteError(
                    f"MongoDB unavailable while landing a batch ({error}); the landing is "
                    "idempotent: run the same ingestion again once the server is back"
                ) from error
            log.warning(
                "MongoDB write failed transiently (%s): retrying in %.1f s",
                type(error).__name__,
                delay,
            )
            time.sleep(delay)
        return duplicates, retried, failed

    def _insert_each(
        self,
        items: list[Landing],
        pending: list[int],
        duplicates: list[int],
        retried: set[int],
        failed: dict[int, str],
    ) -> None:
        """Insert one document at a time, after the server refused a whole batch because of one
        of them (a payload nested deeper than it parses): that line is quarantined with the
        server's reason, the others land. A duplicate here may be a write of the refused
        command's first part, so it is checked as a retry (see `_is_own`)."""
        for index in pending:
            try:
                self.raw.insert_one(items[index].raw)
            except DuplicateKeyError:
                duplicates.append(index)
                retried.add(index)
            except OperationFailure as exc:
                if exc.code in RETRYABLE_CODES:
                    raise
                failed[index] = _rejected(str(exc.details.get("errmsg") if exc.details else exc))

    def _stored_sources(self, items: list[Landing], duplicate_idx: list[int]) -> dict[str, dict]:
        """The stored copies' first landing time and source, for the ids that came back as duplicates."""
        if not duplicate_idx:
            return {}
        ids = [items[i].event_id for i in duplicate_idx]
        return {
            d["_id"]: d
            for d in with_retries(
                lambda: list(
                    self.raw.find({"_id": {"$in": ids}}, {"source": 1, "first_seen_at": 1})
                ),
                "read back repeated ids",
            )
        }

    def _is_own(self, item: Landing, stored: dict | None) -> bool:
        """This very ingestion stored it (same landing time and line): a retried batch, not a repeat."""
        return (
            bool(stored)
            and stored.get("first_seen_at") == self.now
            and (stored["source"]["file"], stored["source"]["line"])
            == (item.sighting.file, item.sighting.line)
        )

    def _repeat_ops(self, item: Landing, earlier: bool) -> list[UpdateOne]:
        """Record a repeat's sighting, once: a line read again (a re-run, a crash half-way, two
        ingestions of the same file at once) matches nothing and changes nothing. The stored copy
        is the first by (ingestion day, file, line), whatever order files and parts land in: an
        earlier copy replaces the envelope of a later one (guarded, so a race keeps the earliest)."""
        sighting = item.sighting.as_doc()
        ops = [
            UpdateOne(
                {"_id": item.event_id, "sightings": {"$ne": sighting}},
                {
                    "$push": {"sightings": sighting},
                    "$inc": {"seen_count": 1},
                    "$set": {"last_seen_at": self.now},
                },
            )
        ]
        if earlier:
            doc = bson.decode(item.raw.raw)
            later = [
                {"source.ingestion_day": {"$gt": sighting["day"]}},
                {"source.ingestion_day": sighting["day"], "source.file": {"$gt": sighting["file"]}},
                {
                    "source.ingestion_day": sighting["day"],
                    "source.file": sighting["file"],
                    "source.line": {"$gt": sighting["line"]},
                },
            ]
            replace = [{"$set": {f: {"$literal": doc[f]} for f in ENVELOPE_FIELDS if f in doc}}]
            if TAG_FIELD not in doc:  # a tag describes the copy it was stored with
                replace.append({"$unset": [TAG_FIELD]})
            ops.append(UpdateOne({"_id": item.event_id, "$or": later}, replace))
        return ops

    def _resolve_quarantined(self, landed: list[Landing]) -> None:
        lines: dict[str, list[int]] = {}
        for item in landed:
            lines.setdefault(item.sighting.file, []).append(item.sighting.line)
        self.quarantine.bulk_write(
            [
                UpdateMany(
                    {"file": file, "line": {"$in": numbers}, **OPEN},
                    {"$set": {"resolved_at": self.now, "resolution": "landed"}},
                )
                for file, numbers in lines.items()
            ],
            ordered=False,
        )

    def _quarantine(self, rejects: list[Rejection]) -> None:
        ops = [InsertOne(r.as_doc(self.now)) for r in rejects]
        try:
            self.quarantine.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            others = [
                e for e in exc.details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY
            ]
            if others:
                raise


def land_all(
    db: Database,
    items: Iterable[Landing | Rejection | None],
    now: datetime,
    on_batch: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    raw: str = RAW,
    quarantine: str = QUARANTINE,
    tagger: Tagger | None = None,
) -> IngestStats:
    """Drain `items` (None = a blank line) into MongoDB (`raw` / `quarantine` collections);
    `tagger` tags the landings that hold their envelope."""
    writer = RawWriter(
        db,
        now,
        batch_size=batch_size,
        on_batch=on_batch,
        raw=raw,
        quarantine=quarantine,
        tagger=tagger,
    )
    try:
        with paused_gc():  # parsing allocates millions of acyclic objects (see gcpause)
            for item in items:
                if item is None:
                    writer.blank()
                else:
                    writer.add(item)
    finally:
        stats = writer.close()
    return stats


#: A run of 19+ digits, maybe an integer wider than 64 bits, which orjson would read as a float
#: (digits lost): found as 19 zeros once every digit reads as a zero (a substring search, 0.4 µs a
#: line, against 3.1 µs for the regex `\d{19}`). The rare line it flags is parsed exactly.
DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
LONG_INTEGER = b"0" * 19


def has_long_integer(raw: bytes) -> bool:
    """Whether `raw` holds a run of 19 or more ASCII digits."""
    return LONG_INTEGER in raw.translate(DIGITS_AS_ZERO)


INT64 = (-(2**63), 2**63 - 1)


def _exact_int(literal: str) -> int | Decimal128 | str:
    """An integer exactly as written: int64 as is, wider ones as Decimal128 (34 digits) or text."""
    value = int(literal)
    if INT64[0] <= value <= INT64[1]:
        return value
    return Decimal128(literal) if len(literal.lstrip("-")) <= 34 else literal


def _exact_loads(text: str) -> Any:
    """JSON with integers too wide for a double kept exact (the rare path: see LONG_INTEGER)."""
    return json.loads(text, parse_int=_exact_int)


def decode_object(raw: bytes, sighting: Sighting) -> tuple[dict, str] | Rejection | None:
    """A line as (JSON object, its text); a Rejection saying why not; None for a blank line."""
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(
            sighting,
            f"invalid UTF-8: {exc.reason} at byte {exc.start}",
            raw.decode("utf-8", errors="replace"),
            raw,
        )
    try:
        value = _exact_loads(text) if has_long_integer(raw) else orjson.loads(raw)
    except (orjson.JSONDecodeError, ValueError, RecursionError) as exc:
        return Rejection(sighting, f"invalid JSON: {exc}", text)
    if not isinstance(value, dict):
        return Rejection(sighting, f"not a JSON object but a {type(value).__name__}", text)
    return value, text


def iter_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line bytes) streaming: no BOM, no trailing CR/LF."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            yield number, line.rstrip(b"\r\n")


Item = Landing | Rejection | None


def land_files(
    db: Database,
    files: Iterable[tuple[str, Any]],
    items: Callable[[Any, datetime], Iterable[Item]],
    on_batch: Callable[[int], None] | None = None,
    raw: str = RAW,
    quarantine: str = QUARANTINE,
    tagger: Tagger | None = None,
) -> tuple[IngestStats, dict[str, int]]:
    """The one per-file landing loop (live, bootstrap and platform files).

    `files` are (group, file) pairs; `items(file, now)` turns one file into landings, rejections
    and blanks. Every file gets its own landing time; returns totals and lines read per group."""
    total = IngestStats()
    per_group: dict[str, int] = {}
    for group, file in files:
        now = utc_now()
        stats = land_all(
            db,
            items(file, now),
            now,
            on_batch=on_batch,
            raw=raw,
            quarantine=quarantine,
            tagger=tagger,
        )
        stats.files = 1
        total.merge(stats)
        per_group[group] = per_group.get(group, 0) + stats.lines_read
    return total, per_group
