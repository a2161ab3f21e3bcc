"""Stage a business-day window: extract its raw events, normalize, validate, replace its rows.

One extraction pass per chunk of days feeds all seven canonical frames; each chunk replaces
its own days in its own transaction (memory stays one chunk's worth), then the window's days
without events are cleared, so the window ends exactly as staged.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from pymongo.database import Database

from commercepulse.days import utc_midnight
from commercepulse.mapping_files import FOLDER, fingerprint, shapes_for
from commercepulse.staging.extract import chunk_days, event_counts_by_day, extract_window
from commercepulse.staging.fx import load_rates
from commercepulse.staging.normalize import FRAMES, normalize
from commercepulse.staging.schemas import SchemaViolation, validate
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.frames import conform
from commercepulse.warehouse.tables import STAGING

CHUNK_EVENTS = 25_000  # raw events normalized at once: bounds memory, amortizes per-frame overhead


def ensure_complete(events: pd.DataFrame, frames: dict[str, pd.DataFrame], where: str) -> None:
    """Every extracted event reached a frame or stg_unmapped (nothing is lost in normalization)."""
    accounted = set().union(*(frame["event_id"] for frame in frames.values()))
    if len(accounted) != len(events):
        lost = sorted(set(events["event_id"]) - accounted)[:5]
        raise SchemaViolation(
            f"staging {where}: {len(events) - len(accounted)} raw event(s) reached no frame "
            f"(e.g. {lost}); this is a bug in the vendor mapping, please report it"
        )


def stage_window(
    db: Database,
    warehouse: Warehouse,
    start: date,
    end: date,
    data_dir: Path,
    late_hours: float,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Extract, normalize, validate and write every day of [start, end); returns the counts."""
    rates = load_rates(data_dir)
    shapes = shapes_for(data_dir)
    rows: Counter = Counter()
    per_vendor: dict[str, Counter] = {name: Counter() for name in FRAMES}
    timing: Counter = Counter()
    counts = event_counts_by_day(db, utc_midnight(start), utc_midnight(end))
    for first, last in chunk_days(counts, CHUNK_EVENTS):
        chunk_start, chunk_end = (
            date.fromisoformat(first),
            date.fromisoformat(last) + timedelta(days=1),
        )
        with warehouse.partition_writer(FRAMES, chunk_start, chunk_end) as write:
            t0 = time.perf_counter()
            events = extract_window(db, utc_midnight(chunk_start), utc_midnight(chunk_end))
            t1 = time.perf_counter()
            frames = {
                name: validate(conform(frame, STAGING[name]), name, first)
                for name, frame in normalize(events, rates, late_hours, shapes).items()
            }
            ensure_complete(events, frames, f"{first}..{last}")
            t2 = time.perf_counter()
            write(frames)
            timing.update(
                extract_s=t1 - t0,
                transform_s=t2 - t1,
                write_s=time.perf_counter() - t2,
                raw_events=len(events),
            )
        for name, frame in frames.items():
            rows[name] += len(frame)
            per_vendor[name].update(frame["vendor"].fillna("unknown").tolist())
        if log:
            log(
                f"{first}..{last}: {len(events)} raw events -> "
                + ", ".join(f"{k}={len(v)}" for k, v in frames.items())
            )
    warehouse.delete_days_except(FRAMES, start, end, sorted(counts))
    return {
        "raw_events": timing.pop("raw_events", 0),
        "rows": dict(rows),
        "mapping_version": fingerprint(Path(data_dir) / FOLDER)[:12] or "built-in",
        "per_vendor": {k: dict(v) for k, v in per_vendor.items()},
        "timing": {k: round(v, 3) for k, v in timing.items()},
    }
