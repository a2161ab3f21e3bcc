"""Bronze: platform source files landed verbatim in MongoDB `platform_raw` (SPEC §9).

Same machinery as the vendor events (RawWriter: one BSON encode per line, unordered
`insert_many`, sightings on repeats, quarantine with file/line/reason). Bronze does not
deduplicate: every line is its own record, its `_id` derived from (source, file, line, bytes),
so re-landing a file changes nothing while a record sent twice is kept twice for Silver.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path

from bson.errors import InvalidDocument
from pymongo.database import Database

from commercepulse.errors import InputError
from commercepulse.lib.ids import is_blank
from commercepulse.lib.timeparse import parse_time
from commercepulse.mongo.indexes import PLATFORM_QUARANTINE, PLATFORM_RAW
from commercepulse.platform.sources import SOURCES, Source
from commercepulse.raw.landing import (
    IngestStats,
    Item,
    Landing,
    Rejection,
    Sighting,
    decode_object,
    encode,
    iter_lines,
    land_files,
)

DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.jsonl$")


def parse_record(
    source: Source, raw: bytes, sighting: Sighting, now: datetime
) -> Landing | Rejection | None:
    """One line of a platform file -> a Bronze landing, a rejection with its reason, or None (blank)."""
    decoded = decode_object(raw, sighting)
    if decoded is None or isinstance(decoded, Rejection):
        return decoded
    record, text = decoded
    missing = [f for f in source.required if is_blank(record.get(f))]
    if missing:
        return Rejection(sighting, f"{source.name}: missing {', '.join(missing)}", text)
    key = record[source.key]
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)
    if not isinstance(key, str):
        return Rejection(sighting, f"{source.name}: {source.key} is not a string", text)
    key = key.strip()  # the key Silver groups by: " U-1" and "U-1" are one user
    record_time = parse_time(record[source.time_field])
    if record_time is None:
        return Rejection(sighting, f"{source.name}: unparseable {source.time_field}", text)
    doc = {
        "_id": hashlib.sha1(
            f"{source.name}|{sighting.file}|{sighting.line}|".encode() + raw
        ).hexdigest(),
        "source_system": source.name,
        "record_key": key,
        "record_time": record_time,
        "ingestion_time": now,
        "record": record,
        "source": {
            "kind": "platform",
            "file": sighting.file,
            "line": sighting.line,
            "ingestion_day": sighting.day,
        },
        "seen_count": 1,
        "first_seen_at": now,
        "last_seen_at": now,
        "sightings": [sighting.as_doc()],
    }
    try:
        raw_doc = encode(doc)
    except (OverflowError, InvalidDocument) as exc:
        return Rejection(sighting, f"cannot be stored as BSON: {exc}", text)
    return Landing(doc["_id"], raw_doc, sighting, sighting.day)


def platform_files(root: Path, days: Sequence[date] | None = None) -> list[tuple[Source, Path]]:
    """(source, file) for `root/<source>/YYYY-MM-DD.jsonl`, optionally only the given days."""
    if not root.is_dir():
        raise InputError(
            f"{root} does not exist (expected {root}/<source>/YYYY-MM-DD.jsonl; "
            f"generate with `commercepulse generate platform`)"
        )
    wanted = {d.isoformat() for d in days} if days is not None else None
    found = []
    for source in SOURCES.values():
        for path in sorted((root / source.name).glob("*.jsonl")):
            match = DAY_FILE.match(path.name)
            if match and (wanted is None or match.group(1) in wanted):
                found.append((source, path))
    return found


def ingest_platform(
    db: Database,
    root: Path,
    days: Sequence[date] | None = None,
    on_lines: Callable[[int], None] | None = None,
) -> tuple[IngestStats, dict[str, int]]:
    """Land every platform file under `root` (or those of `days`); returns totals and lines per source."""

    def items(file: tuple[Source, Path], now: datetime) -> Iterator[Item]:
        source, path = file
        day, key = DAY_FILE.match(path.name).group(1), f"platform/{source.name}/{path.name}"
        for number, raw in iter_lines(str(path)):
            yield parse_record(source, raw, Sighting(day, key, number), now)

    return land_files(
        db,
        [(source.name, (source, path)) for source, path in platform_files(root, days)],
        items,
        on_batch=on_lines,
        raw=PLATFORM_RAW,
        quarantine=PLATFORM_QUARANTINE,
    )
