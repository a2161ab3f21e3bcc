"""The quarantine of lines that could not land: list it, show one record, replay it.

A quarantine record stays (it is the audit of what was rejected and why); it is *open* until
its line has landed, by a replay or by the normal landing of a fixed file. Replay reads each
open record's line again from its file under DATA_DIR (the file may have been fixed), or from
the stored text when the file is gone, parses it with the same parser as the landing, and lands
what now parses through the same writer: the sighting is the original (file, line), so a replay
is idempotent and never double-counts a line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pymongo import UpdateOne
from pymongo.database import Database

from commercepulse.lib.days import utc_now
from commercepulse.lib.privacy import mask_text
from commercepulse.mongo.indexes import QUARANTINE, ensure_indexes
from commercepulse.raw.landing import OPEN, Landing, Rejection, Sighting, iter_lines, land_all

#: The start of a record's text searched for its vendor (a rejected line may not parse at all).
HEAD_CHARS = 4000
#: The start of a record's text shown beside it (check metadata, reports, `quarantine list --json`).
SHOWN_CHARS = 200
VENDOR = re.compile(r'"vendor"\s*:\s*"([A-Za-z0-9_.\-]{1,64})"')


def reason_class(reason: str) -> str:
    """What kind of problem: the reason up to its first colon ("invalid JSON", "missing or invalid event_id ...")."""
    return reason.split(":", 1)[0].strip()


def vendor_of(text: str) -> str:
    match = VENDOR.search(text[:HEAD_CHARS])
    return match.group(1) if match else "unknown"


def _filter(
    day: str | None = None,
    reason: str | None = None,
    file: str | None = None,
    include_resolved: bool = False,
) -> dict[str, Any]:
    query: dict[str, Any] = {} if include_resolved else dict(OPEN)
    if day:
        query["day"] = day
    if file:
        query["file"] = file
    if reason:
        query["reason"] = {"$regex": "^" + re.escape(reason)}
    return query


def records(
    db: Database,
    day: str | None = None,
    vendor: str | None = None,
    reason: str | None = None,
    file: str | None = None,
    include_resolved: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Quarantine records (the text cut to its first SHOWN_CHARS), by file and line, with vendor
    and reason class; at most `limit` of them."""
    head = [{"$limit": limit}] if limit is not None and vendor is None else []
    found = db[QUARANTINE].aggregate(
        [
            {"$match": _filter(day, reason, file, include_resolved)},
            {"$sort": {"file": 1, "line": 1}},
            *head,
            {
                "$project": {
                    "file": 1,
                    "line": 1,
                    "day": 1,
                    "reason": 1,
                    "quarantined_at": 1,
                    "resolved_at": 1,
                    "resolution": 1,
                    "truncated": 1,
                    "head": {"$substrCP": ["$raw_text", 0, HEAD_CHARS]},
                }
            },
        ]
    )
    out = []
    for doc in found:
        text = doc.pop("head", "") or ""
        doc["vendor"] = vendor_of(text)
        # a preview (check metadata, reports, `quarantine list`) masks personal data;
        # `quarantine show` prints the whole line for the operator who asks for it
        doc["text"] = mask_text(text[:SHOWN_CHARS]) + ("…" if len(text) > SHOWN_CHARS else "")
        doc["reason_class"] = reason_class(doc["reason"])
        doc["status"] = "resolved" if doc.get("resolved_at") else "open"
        if vendor is None or doc["vendor"] == vendor:
            out.append(doc)
    return out[:limit] if limit is not None else out


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Counts by reason class, ingestion day and vendor (most first)."""
    counts = Counter((r["reason_class"], r["day"] or "-", r["vendor"]) for r in rows)
    return [
        {"reason": k[0], "day": k[1], "vendor": k[2], "lines": n}
        for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def show(db: Database, record_id: str) -> dict[str, Any] | None:
    """One whole record (by its id, or `file:line`)."""
    if ":" in record_id:
        file, _, line = record_id.rpartition(":")
        return (
            db[QUARANTINE].find_one({"file": file, "line": int(line)}) if line.isdigit() else None
        )
    return db[QUARANTINE].find_one({"_id": record_id})


@dataclass
class ReplayStats:
    """What a replay did. Invariant: replayed = landed + already_landed + still_failing."""

    replayed: int = 0
    landed: int = 0
    already_landed: int = 0
    still_failing: int = 0
    from_stored_text: int = 0
    reasons: Counter = field(default_factory=Counter)
    business_days: set[str] = field(default_factory=set)
    ingestion_days: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "replayed": self.replayed,
            "landed": self.landed,
            "already_landed": self.already_landed,
            "still_failing": self.still_failing,
            "from_stored_text": self.from_stored_text,
            "still_failing_reasons": dict(self.reasons),
            "business_days": sorted(self.business_days),
            "ingestion_days": sorted(self.ingestion_days),
        }


def _current_lines(data_dir: Path, file: str, wanted: set[int]) -> dict[int, bytes]:
    """The wanted lines of a live file as it is now (empty when the file is gone)."""
    path = data_dir / file
    if not path.is_file():
        return {}
    lines: dict[int, bytes] = {}
    for number, raw in iter_lines(str(path)):
        if number in wanted:
            lines[number] = raw
            if len(lines) == len(wanted):
                break
    return lines


def _stored_bytes(doc: dict[str, Any]) -> bytes | None:
    if doc.get("truncated"):
        return None  # only the file holds the whole line
    if doc.get("raw_bytes") is not None:
        return bytes(doc["raw_bytes"])
    return (doc.get("raw_text") or "").encode("utf-8", "surrogatepass")


def _attempts(
    db: Database, data_dir: Path, query: dict[str, Any], now: datetime, stats: ReplayStats
) -> Iterator[tuple[dict[str, Any], Landing | Rejection]]:
    """Each open record with what its line parses to now."""
    from commercepulse.raw.live import parse_line

    by_file: dict[str, list[dict[str, Any]]] = {}
    for doc in db[QUARANTINE].find(query).sort([("file", 1), ("line", 1)]):
        by_file.setdefault(doc["file"], []).append(doc)
    for file, docs in by_file.items():
        if not file.startswith("live_events/"):
            continue  # dump records are replayed by re-landing the fixed dump (`ingest bootstrap`)
        current = _current_lines(data_dir, file, {d["line"] for d in docs})
        for doc in docs:
            raw = current.get(doc["line"])
            if raw is None:
                raw = _stored_bytes(doc)
                if raw is None:
                    continue
                stats.from_stored_text += 1
            result = parse_line(raw, Sighting(doc.get("day") or "", file, doc["line"]), now)
            if result is None:  # the line was emptied: nothing left to land
                result = Rejection(
                    Sighting(doc.get("day") or "", file, doc["line"]), "the line is now blank", ""
                )
            yield doc, result


def replay(
    db: Database,
    data_dir: Path,
    day: str | None = None,
    reason: str | None = None,
    file: str | None = None,
    vendor: str | None = None,
) -> ReplayStats:
    """Land the open quarantined live lines that parse now; returns the counts."""
    ensure_indexes(db)
    stats, now = ReplayStats(), utc_now()
    query = _filter(day, reason, file)
    if vendor:
        query["_id"] = {
            "$in": [r["_id"] for r in records(db, day=day, vendor=vendor, reason=reason, file=file)]
        }
    attempts = list(_attempts(db, data_dir, query, now, stats))
    landings = [(doc, item) for doc, item in attempts if isinstance(item, Landing)]
    failing = [(doc, item) for doc, item in attempts if isinstance(item, Rejection)]
    stats.replayed = len(attempts)
    if landings:
        written = land_all(db, iter([item for _, item in landings]), now)
        stats.landed, stats.already_landed = written.landed, written.duplicates
        stats.business_days |= written.business_days
        stats.ingestion_days |= {item.sighting.day for _, item in landings if item.sighting.day}
        db[QUARANTINE].bulk_write(
            [
                UpdateOne(
                    {"_id": doc["_id"]},
                    {
                        "$set": {
                            "resolved_at": now,
                            "resolution": "replayed",
                            "event_id": item.event_id,
                        }
                    },
                )
                for doc, item in landings
            ],
            ordered=False,
        )
    if failing:
        stats.still_failing = len(failing)
        stats.reasons.update(reason_class(item.reason) for _, item in failing)
        db[QUARANTINE].bulk_write(
            [
                UpdateOne(
                    {"_id": doc["_id"]},
                    {"$set": {"last_replayed_at": now, "last_replay_reason": item.reason}},
                )
                for doc, item in failing
            ],
            ordered=False,
        )
    return stats


def open_counts(db: Database, day: str | None = None) -> dict[str, int]:
    """Open quarantine lines by reason class (of one ingestion day, or all): events_raw metadata
    and its check."""
    return open_counts_by_day(db, [day])[day] if day else _by_reason(db, dict(OPEN))


def open_counts_by_day(db: Database, days: list[str]) -> dict[str, dict[str, int]]:
    """Open quarantine lines of each ingestion day of `days`, by reason class (one aggregation)."""
    found: dict[str, Counter] = {day: Counter() for day in days}
    for group in db[QUARANTINE].aggregate(
        [
            {"$match": {**OPEN, "day": {"$in": days}}},
            {"$group": {"_id": {"day": "$day", "reason": "$reason"}, "n": {"$sum": 1}}},
        ]
    ):
        found[group["_id"]["day"]][reason_class(group["_id"]["reason"])] += group["n"]
    return {day: dict(counts.most_common()) for day, counts in found.items()}


def _by_reason(db: Database, match: dict[str, Any]) -> dict[str, int]:
    counts: Counter = Counter()
    for group in db[QUARANTINE].aggregate(
        [{"$match": match}, {"$group": {"_id": "$reason", "n": {"$sum": 1}}}]
    ):
        counts[reason_class(group["_id"])] += group["n"]
    return dict(counts.most_common())
