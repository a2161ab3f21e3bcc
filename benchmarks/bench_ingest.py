"""Raw landing: full ingestion vs the insert_many write floor vs a naive update_one loop,
and peak RSS for 20k vs 200k events (it must stay flat)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import bson

from benchmarks.common import BENCH_HOME, drop, fresh_db, uri
from commercepulse.generate.writers import write_live
from commercepulse.lib.days import utc_now
from commercepulse.mongo.indexes import INDEXES, RAW
from commercepulse.raw.landing import Sighting
from commercepulse.raw.live import file_key, ingest_live, parse_line


def parsed_distinct(path: Path) -> list[dict]:
    """The documents ingestion would store, pre-built (the floor measures only the writes)."""
    day, key = file_key(path)
    now = utc_now()
    seen, docs = set(), []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        item = parse_line(raw, Sighting(day, key, number), now)
        if item is not None and hasattr(item, "event_id") and item.event_id not in seen:
            seen.add(item.event_id)
            docs.append(bson.decode(item.raw.raw))
    return docs


def rss_of_ingest(path: Path) -> int:
    # VmHWM, not ru_maxrss: ru_maxrss survives execve, so a child would report its parent's peak.
    code = (
        "import sys; from commercepulse.mongo.client import get_database; "
        "from commercepulse.raw.live import ingest_live; "
        f"db=get_database({uri()!r}, 'rss_' + str(abs(hash(sys.argv[1])))); "
        "db.client.drop_database(db.name); db=get_database("
        + repr(uri())
        + ", 'rss_' + str(abs(hash(sys.argv[1])))); "
        "s=ingest_live(db,[sys.argv[1]]); db.client.drop_database(db.name); "
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip().splitlines()[-1]) // 1024  # kB -> MB


def main(events: int = 100_000) -> dict:
    work = Path(tempfile.mkdtemp(prefix="cp-bench-", dir=BENCH_HOME.parent))
    [path] = write_live(work / "live", seed=11, start=date(2025, 6, 1), days=1, events=events)
    lines = len(path.read_bytes().splitlines())
    results: dict = {"lines": lines}

    db = fresh_db("bench_ingest")
    t = time.perf_counter()
    stats = ingest_live(db, [path])
    elapsed = time.perf_counter() - t
    results.update(
        ingest_lines_per_s=round(lines / elapsed),
        ingest_distinct_per_s=round(stats.landed / elapsed),
        landed=stats.landed,
        duplicates=stats.duplicates,
        ingest_s=round(elapsed, 2),
    )
    drop(db)

    docs = parsed_distinct(path)
    for label, with_indexes in (("floor_bare", False), ("floor_same_indexes", True)):
        db = fresh_db("bench_floor")
        if with_indexes:
            db[RAW].create_indexes(INDEXES[RAW])
        t = time.perf_counter()
        db["events_raw"].insert_many([dict(d) for d in docs], ordered=False)
        results[f"{label}_per_s"] = round(len(docs) / (time.perf_counter() - t))
        drop(db)

    db = fresh_db("bench_naive")
    subset = path.read_bytes().splitlines()[:10_000]
    day, key = file_key(path)
    now = utc_now()
    t = time.perf_counter()
    for number, raw in enumerate(subset, start=1):  # same documents, one round trip per line
        item = parse_line(raw, Sighting(day, key, number), now)
        doc = bson.decode(item.raw.raw)
        db[RAW].update_one(
            {"_id": doc.pop("_id")},
            {
                "$setOnInsert": {
                    k: v for k, v in doc.items() if k not in ("seen_count", "last_seen_at")
                },
                "$inc": {"seen_count": 1},
                "$set": {"last_seen_at": now},
            },
            upsert=True,
        )
    results["naive_update_one_per_s"] = round(len(subset) / (time.perf_counter() - t))
    drop(db)

    results["vs_floor_bare"] = round(
        results["ingest_distinct_per_s"] / results["floor_bare_per_s"], 2
    )
    results["vs_floor_same_indexes"] = round(
        results["ingest_distinct_per_s"] / results["floor_same_indexes_per_s"], 2
    )
    results["vs_naive"] = round(
        results["ingest_lines_per_s"] / results["naive_update_one_per_s"], 1
    )

    for n in (20_000, 200_000):
        [p] = write_live(work / f"rss{n}", seed=12, start=date(2025, 6, 2), days=1, events=n)
        results[f"peak_rss_mb_{n // 1000}k"] = rss_of_ingest(p)
    return results


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000), indent=2))
