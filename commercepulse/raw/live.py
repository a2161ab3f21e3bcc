"""Live event files (`live_events/YYYY-MM-DD/events.jsonl`) -> raw landings."""

from __future__ import annotations

import os
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bson.errors import InvalidDocument
from pymongo.database import Database

from commercepulse.errors import InputError
from commercepulse.lib.days import utc_now
from commercepulse.raw.landing import (
    IngestStats,
    Item,
    Landing,
    Rejection,
    Sighting,
    Tagger,
    decode_object,
    encode,
    envelope,
    iter_lines,
    land_all,
    land_files,
)

DAY_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_envelope_time(value: object) -> datetime | None:
    """Envelope times are ISO by contract (SPEC §2.2); checked per line so a bad one is
    quarantined with its line. Payload times, in every vendor format, go through timeparse."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # naive = UTC (SPEC §2.3)
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)  # the business day is the UTC day, whatever the offset


def file_key(path: Path) -> tuple[str, str]:
    """(ingestion day, stable file key) from `.../YYYY-MM-DD/events.jsonl`."""
    day = path.parent.name if DAY_DIR.match(path.parent.name) else ""
    key = f"live_events/{day}/{path.name}" if day else f"live_events/{path.name}"
    return day, key


def _is_name(value: object) -> bool:
    """An id or type the platform can key and show: a non-blank string without control characters."""
    return isinstance(value, str) and bool(value.strip()) and value.isprintable()


def parse_line(raw: bytes, sighting: Sighting, now: datetime) -> Landing | Rejection | None:
    """One line -> a landing, a rejection with its reason, or None for a blank line."""
    decoded = decode_object(raw, sighting)
    if decoded is None or isinstance(decoded, Rejection):
        return decoded
    event, text = decoded
    event_id, event_type = event.get("event_id"), event.get("event_type")
    if isinstance(event_id, int) and not isinstance(event_id, bool):
        event_id = str(event_id)
    if not _is_name(event_id):
        return Rejection(
            sighting, "missing or invalid event_id (a non-blank printable string)", text
        )
    if not _is_name(event_type):
        return Rejection(
            sighting, "missing or invalid event_type (a non-blank printable string)", text
        )
    event_time = parse_envelope_time(event.get("event_time"))
    if event_time is None:
        return Rejection(sighting, "missing or unparseable event_time", text)
    ingested_at = parse_envelope_time(event.get("ingested_at")) or now
    vendor = event.get("vendor") if isinstance(event.get("vendor"), str) else None
    doc = envelope(
        event_id=event_id,
        event_type=event_type,
        event_time=event_time,
        vendor=vendor,
        payload=event.get("payload"),
        ingested_at=ingested_at,
        kind="live",
        sighting=sighting,
        now=now,
    )
    try:
        raw_doc = encode(doc)
    except (OverflowError, InvalidDocument) as exc:
        return Rejection(sighting, f"cannot be stored as BSON: {exc}", text)
    return Landing(event_id, raw_doc, sighting, event_time.date().isoformat(), doc)


def expand_paths(paths: Sequence[str | Path]) -> list[Path]:
    """Files as given, day folders as their `*.jsonl`, in a stable order; clear errors."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(path.glob("*.jsonl")) or sorted(path.glob("*/*.jsonl"))
            if not found:
                raise InputError(
                    f"{path} holds no *.jsonl file (expected DIR/YYYY-MM-DD/events.jsonl)"
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path} does not exist")
    for file in files:
        try:
            with open(file, "rb") as handle:
                handle.read(1)
        except OSError as exc:
            raise InputError(f"cannot read {file}: {exc.strerror}") from exc
    return files


#: A file larger than this is landed in shares by several processes (when workers > 1).
PART_BYTES = 8 * 1024 * 1024
#: The event id's value in a line, as written (a quoted string or a bare literal).
EVENT_ID_VALUE = re.compile(rb'"event_id"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}\s]+)')


def line_share(raw: bytes, number: int, shares: int) -> int:
    """Which of `shares` workers lands this line: every copy of an event goes to the same one
    (by its id as written), so a repeat meets the writer that sent its first copy and is never
    sent as an insert (RawWriter._known_repeats). Any fixed choice lands the same documents;
    this one only decides how much work MongoDB redoes for repeats."""
    found = EVENT_ID_VALUE.search(raw)
    if found is None:
        return number % shares
    return zlib.crc32(found.group(1)) % shares


def file_items(
    path: Path,
    now: datetime,
    share: int = 0,
    shares: int = 1,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[Item]:
    """The file's lines parsed, or with `shares` > 1 only those of `share` (see `line_share`)."""
    day, key = file_key(path)
    for number, raw in iter_lines(str(path)):
        if on_bytes:
            on_bytes(len(raw) + 1)
        if shares == 1 or line_share(raw, number, shares) == share:
            yield parse_line(raw, Sighting(day, key, number), now)


def ingest_live(
    db: Database,
    paths: Sequence[str | Path],
    on_bytes: Callable[[int], None] | None = None,
    tagger: Tagger | None = None,
) -> IngestStats:
    """Land every line of the given live files (or day folders), in this process; idempotent."""
    total, _ = land_files(
        db,
        [("live", path) for path in expand_paths(paths)],
        lambda path, now: file_items(path, now, on_bytes=on_bytes),
        tagger=tagger,
    )
    return total


def _land_share(
    task: tuple[str, str, str, int, int, datetime], tagger: Tagger | None = None
) -> IngestStats:
    """One share of a file's lines, landed by a worker process with its own connection."""
    uri, database, path, share, shares, now = task
    from commercepulse.mongo.client import get_database

    return land_all(
        get_database(uri, database), file_items(Path(path), now, share, shares), now, tagger=tagger
    )


def ingest_live_parallel(
    uri: str,
    database: str,
    paths: Sequence[str | Path],
    workers: int,
    on_part: Callable[[int], None] | None = None,
    on_file: Callable[[Path, IngestStats], None] | None = None,
    tagger: Tagger | None = None,
    part_bytes: int = PART_BYTES,
) -> IngestStats:
    """Land the files with `workers` processes, each big file's lines shared out by event id
    (`line_share`): parsing and encoding are CPU-bound, so they scale with cores. The result does
    not depend on the order the shares land in (the first copy of an event by ingestion day, file
    and line is the one kept).

    `on_part(bytes)` follows progress; `on_file(path, stats)` is called once a file's shares have
    all landed; `tagger` (picklable, for the workers) tags each landing event; a file of
    `part_bytes` or more is shared out among the workers."""
    files = expand_paths(paths)
    tasks = []
    for path in files:
        now = utc_now()  # one landing time per file, shared by its shares
        shares = max(1, min(workers, os.path.getsize(path) // part_bytes + 1))
        tasks += [(uri, database, str(path), share, shares, now) for share in range(shares)]
    total = IngestStats(files=len(files))
    pending = Counter(task[2] for task in tasks)
    per_file: dict[str, IngestStats] = {}

    def landed(task: tuple, stats: IngestStats) -> None:
        total.merge(stats)
        if on_part:
            on_part(os.path.getsize(task[2]) // task[4])
        per_file.setdefault(task[2], IngestStats(files=1)).merge(stats)
        pending[task[2]] -= 1
        if on_file and not pending[task[2]]:
            on_file(Path(task[2]), per_file[task[2]])

    if workers <= 1 or len(tasks) == 1:
        from commercepulse.mongo.client import get_database

        db = get_database(uri, database)
        for task in tasks:
            items = file_items(Path(task[2]), task[5], task[3], task[4])
            landed(task, land_all(db, items, task[5], tagger=tagger))
        return total
    from concurrent.futures import as_completed

    from commercepulse.lib.processes import worker_pool

    with worker_pool(min(workers, len(tasks))) as pool:
        futures = {pool.submit(_land_share, task, tagger): task for task in tasks}
        for future in as_completed(futures):
            landed(futures[future], future.result())
    return total
