"""Stage a business-day window: extract its raw events, normalize, validate, replace its rows.

One extraction pass per chunk of days feeds all seven canonical frames; each chunk replaces
its own days in its own transaction (memory stays a few chunks' worth: those normalized ahead by
worker processes and the one being written), then the window's days without events are cleared,
so the window ends exactly as staged.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import pandas as pd
from pymongo.database import Database

from commercepulse.lib.days import utc_midnight
from commercepulse.lib.processes import bounded_map, worker_pool, worth_workers
from commercepulse.staging.extract import chunk_days, event_counts_by_day, extract_window
from commercepulse.staging.fx import load_rates
from commercepulse.staging.normalize import FRAMES, normalize
from commercepulse.staging.schemas import SchemaViolation, validate
from commercepulse.vendors.mapping import ShapesByKind
from commercepulse.vendors.mapping_files import FOLDER, fingerprint, shapes_for
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.frames import conform
from commercepulse.warehouse.schema import STAGING

CHUNK_EVENTS = 25_000  # raw events normalized at once: bounds memory, amortizes per-frame overhead
#: A smaller window is staged in the step's process: starting workers (a fork server: ~2 s once)
#: costs more than they save (the data pack's run was 11% slower with them).
PARALLEL_MIN_EVENTS = 2 * CHUNK_EVENTS


def ensure_complete(events: pd.DataFrame, frames: dict[str, pd.DataFrame], where: str) -> None:
    """Every extracted event reached a frame or stg_unmapped (nothing is lost in normalization)."""
    accounted = set().union(*(frame["event_id"] for frame in frames.values()))
    if len(accounted) != len(events):
        lost = sorted(set(events["event_id"]) - accounted)[:5]
        raise SchemaViolation(
            f"staging {where}: {len(events) - len(accounted)} raw event(s) reached no frame "
            f"(e.g. {lost}); this is a bug in the vendor mapping, please report it"
        )


@dataclass(frozen=True)
class Staged:
    """One chunk of days normalized: its frames, ready to write, and what it cost."""

    first: str
    last: str
    frames: dict[str, pd.DataFrame]
    raw_events: int
    extract_s: float
    transform_s: float


@dataclass(frozen=True)
class Normalizer:
    """Extracts and normalizes a chunk of days; picklable, so a worker process can run it."""

    address: str
    database: str
    rates: pd.DataFrame
    late_hours: float
    shapes: ShapesByKind
    customer_salt: str = ""

    def __call__(self, chunk: tuple[str, str]) -> Staged:
        """In a worker process: the chunk through its own connection."""
        from commercepulse.mongo.client import get_database

        return self.stage(get_database(self.address, self.database), chunk)

    def stage(self, db: Database, chunk: tuple[str, str]) -> Staged:
        first, last = chunk
        start, end = _bounds(chunk)
        t0 = time.perf_counter()
        events = extract_window(db, utc_midnight(start), utc_midnight(end))
        t1 = time.perf_counter()
        frames = {
            name: validate(conform(frame, STAGING[name]), name, first)
            for name, frame in normalize(
                events, self.rates, self.late_hours, self.shapes, customer_salt=self.customer_salt
            ).items()
        }
        ensure_complete(events, frames, f"{first}..{last}")
        return Staged(first, last, frames, len(events), t1 - t0, time.perf_counter() - t1)


def _bounds(chunk: tuple[str, str]) -> tuple[date, date]:
    """The [start, end) dates of an inclusive (first, last) chunk of ISO days."""
    return date.fromisoformat(chunk[0]), date.fromisoformat(chunk[1]) + timedelta(days=1)


def stage_window(
    db: Database,
    warehouse: Warehouse,
    start: date,
    end: date,
    data_dir: Path,
    late_hours: float,
    log: Callable[[str], None] | None = None,
    processes: int = 1,
    address: str | None = None,
    customer_salt: str = "",
) -> dict:
    """Extract, normalize, validate and write every day of [start, end); returns the counts.

    With `processes` > 1 and the server's `address`, chunks are extracted and normalized by worker
    processes (CPU-bound) while this process writes them in order (the warehouse's one writer);
    a window of one chunk, or of fewer than PARALLEL_MIN_EVENTS events, stays in this process."""
    rows: Counter = Counter()
    per_vendor: dict[str, Counter] = {name: Counter() for name in FRAMES}
    timing: Counter = Counter()
    counts = event_counts_by_day(db, utc_midnight(start), utc_midnight(end))
    chunks = chunk_days(counts, CHUNK_EVENTS)
    normalizer = Normalizer(
        address or "",
        db.name,
        load_rates(data_dir),
        late_hours,
        shapes_for(data_dir),
        customer_salt,
    )
    parallel = worth_workers(
        processes, address, len(chunks), sum(counts.values()), PARALLEL_MIN_EVENTS
    )
    with worker_pool(min(processes, len(chunks))) if parallel else nullcontext() as pool:
        task = normalizer if parallel else partial(normalizer.stage, db)
        for staged in bounded_map(pool, task, chunks, ahead=processes + 1):
            t0 = time.perf_counter()
            with warehouse.partition_writer(FRAMES, *_bounds((staged.first, staged.last))) as write:
                write(staged.frames)
            timing.update(
                extract_s=staged.extract_s,
                transform_s=staged.transform_s,
                write_s=time.perf_counter() - t0,
                raw_events=staged.raw_events,
            )
            for name, frame in staged.frames.items():
                rows[name] += len(frame)
                per_vendor[name].update(frame["vendor"].fillna("unknown").tolist())
            if log:
                log(
                    f"{staged.first}..{staged.last}: {staged.raw_events} raw events -> "
                    + ", ".join(f"{k}={len(v)}" for k, v in staged.frames.items())
                )
    warehouse.delete_days_except(FRAMES, start, end, sorted(counts))
    return {
        "raw_events": timing.pop("raw_events", 0),
        "rows": dict(rows),
        "mapping_version": fingerprint(Path(data_dir) / FOLDER)[:12] or "built-in",
        "per_vendor": {k: dict(v) for k, v in per_vendor.items()},
        "timing": {k: round(v, 3) for k, v in timing.items()},
    }
