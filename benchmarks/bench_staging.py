"""Staging: extraction from MongoDB (vs a bare find() with the same projection) and the
pandas transformation, for >= 100k raw events."""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from benchmarks.common import BENCH_HOME, drop, fresh_db
from commercepulse.generate.writers import write_bootstrap, write_live
from commercepulse.mongo.indexes import RAW
from commercepulse.raw.live import ingest_live
from commercepulse.staging.extract import PROJECTION, extract_window, window_filter
from commercepulse.staging.fx import load_rates
from commercepulse.staging.normalize import normalize
from commercepulse.warehouse.frames import conform
from commercepulse.warehouse.schema import STAGING

TRANSFORM_RUNS = 5


def main(events: int = 110_000) -> dict:
    work = Path(tempfile.mkdtemp(prefix="cp-bench-stg-", dir=BENCH_HOME.parent))
    write_live(work / "live_events", seed=21, start=date(2025, 6, 1), days=1, events=events)
    write_bootstrap(work, seed=21, orders=10, year=2025)  # the FX file for 2025
    db = fresh_db("bench_staging")
    ingest_live(db, [work / "live_events"])
    start, end = (
        datetime(2025, 5, 1, tzinfo=UTC),
        datetime(2025, 7, 1, tzinfo=UTC),
    )
    n = db[RAW].count_documents(window_filter(start, end))
    t = time.perf_counter()
    bare = list(
        db[RAW].find(window_filter(start, end), PROJECTION, batch_size=10_000).hint("event_time")
    )
    bare_s = time.perf_counter() - t
    t = time.perf_counter()
    events_frame = extract_window(db, start, end)
    extract_s = time.perf_counter() - t
    assert len(bare) == len(events_frame) == n
    del bare  # the comparison's documents are not part of the pipeline's working set
    rates = load_rates(work)
    runs = []
    for _ in range(TRANSFORM_RUNS):  # the first run is cold (lazy pandas paths); report the median
        t = time.perf_counter()
        frames = {k: conform(v, STAGING[k]) for k, v in normalize(events_frame, rates).items()}
        runs.append(time.perf_counter() - t)
    transform_s = statistics.median(runs)
    drop(db)
    return {
        "raw_events": n,
        "bare_find_s": round(bare_s, 3),
        "extract_s": round(extract_s, 3),
        "extract_vs_bare_find": round(extract_s / bare_s, 2),
        "transform_s_median": round(transform_s, 3),
        "transform_s_runs": [round(r, 3) for r in runs],
        "transform_events_per_s": round(n / transform_s),
        "transform_events_per_s_first_run": round(n / runs[0]),
        "end_to_end_events_per_s": round(n / (extract_s + transform_s)),
        "rows": {k: len(v) for k, v in frames.items()},
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 110_000), indent=2))
