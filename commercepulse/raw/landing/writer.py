"""The writer: batches of landings inserted from a background thread, repeats recorded as
sightings in one bulk update, rejected lines quarantined; and the per-file landing loop."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import bson
from pymongo import UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, OperationFailure

from commercepulse.lib.days import utc_now
from commercepulse.lib.gcpause import paused_gc
from commercepulse.mongo.indexes import QUARANTINE, RAW
from commercepulse.raw.landing import retries
from commercepulse.raw.landing.codec import tag_element, with_tag
from commercepulse.raw.landing.quarantine import (
    DUPLICATE_KEY,
    OPEN,
    _rejected,
    quarantine,
    resolve_landed,
)
from commercepulse.raw.landing.records import (
    ENVELOPE_FIELDS,
    TAG_EVENTS,
    TAG_FIELD,
    IngestStats,
    Landing,
    Rejection,
    Sighting,
    Tagger,
)
from commercepulse.raw.landing.retries import (
    RETRYABLE_CODES,
    TransientWriteError,
    log,
    with_retries,
)

BATCH_SIZE = 5000
#: Event ids a writer remembers having sent (~150 bytes each): repeats of them skip the insert.
SENT_IDS_KEPT = 500_000


def _order(sighting: Sighting) -> tuple[str, str, int]:
    return sighting.day, sighting.file, sighting.line


def _stored_order(stored: dict | None) -> tuple[str, str, int]:
    if not stored:
        return ("", "", -1)  # nothing stored to compare with: nothing is "earlier"
    source = stored["source"]
    return source.get("ingestion_day") or "", source["file"], source["line"]


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
            with_retries(
                lambda: quarantine(self.quarantine, rejects, self.now), "quarantine rejected lines"
            )
        landed = [item for i, item in enumerate(items) if i not in failed] + repeats
        if self._open_quarantine and landed:
            with_retries(
                lambda: resolve_landed(self.quarantine, landed, self.now),
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
        for attempt, delay in enumerate((*retries.delays(), None)):
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
