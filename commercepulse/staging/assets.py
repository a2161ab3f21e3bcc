"""Staging assets: one extraction pass per business day feeds all seven canonical frames."""

import time
from collections import Counter
from datetime import date, timedelta

import dagster as dg
from dagster_pandas.constraints import ConstraintViolationException

from commercepulse.checks import rules
from commercepulse.mongo.resource import MongoResource
from commercepulse.partitions import DAILY, SINGLE_RUN, utc_midnight, window_days
from commercepulse.settings import get_settings
from commercepulse.staging.extract import chunk_days, event_counts_by_day, extract_window
from commercepulse.staging.fx import load_rates
from commercepulse.staging.normalize import FRAMES, normalize
from commercepulse.staging.schemas import validate
from commercepulse.warehouse.frames import conform
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.metadata import table_metadata_spec
from commercepulse.warehouse.tables import STAGING

STAGING_GROUP = "staging"
CHUNK_EVENTS = 25_000  # raw events normalized at once: bounds memory, amortizes per-frame overhead


SPECS = [
    dg.AssetSpec(name, group_name=STAGING_GROUP, kinds={"pandas"}, description=STAGING[name].description,
                 deps=["events_raw", "bootstrap_events"],
                 metadata={**table_metadata_spec(name), "partition_expr": "event_date"})
    for name in FRAMES
]


def stage_window(mongo_db, warehouse: Warehouse, start, end, log=None) -> dict:
    """Extract, normalize, validate and write every day of [start, end); returns the counts."""
    settings = get_settings()
    rates = load_rates(settings.data_dir)
    rows: Counter = Counter()
    per_vendor: dict[str, Counter] = {name: Counter() for name in FRAMES}
    timing: Counter = Counter()
    counts = event_counts_by_day(mongo_db, utc_midnight(start), utc_midnight(end))
    # Each chunk replaces its own days in its own transaction (memory stays one chunk's worth);
    # then the window's days without events are cleared, so the window ends exactly as staged.
    for first, last in chunk_days(counts, CHUNK_EVENTS):
        chunk_start, chunk_end = date.fromisoformat(first), date.fromisoformat(last) + timedelta(days=1)
        with warehouse.partition_writer(FRAMES, chunk_start, chunk_end) as write:
            _stage_chunk(mongo_db, write, chunk_start, chunk_end, rates, settings.late_threshold_hours,
                         rows, per_vendor, timing, log)
    warehouse.delete_days_except(FRAMES, start, end, sorted(counts))
    return {"raw_events": timing.pop("raw_events", 0), "rows": dict(rows),
            "per_vendor": {k: dict(v) for k, v in per_vendor.items()},
            "timing": {k: round(v, 3) for k, v in timing.items()}}


def _stage_chunk(mongo_db, write, day, end, rates, late_hours, rows, per_vendor, timing, log) -> None:
    """Stage days [day, end): extract, normalize, validate, append to the open window."""
    t0 = time.perf_counter()
    events = extract_window(mongo_db, utc_midnight(day), utc_midnight(end))
    t1 = time.perf_counter()
    frames = {name: conform(frame, STAGING[name])
              for name, frame in normalize(events, rates, late_hours).items()}
    for name, frame in frames.items():
        try:
            validate(frame, name)
        except ConstraintViolationException as exc:
            raise dg.Failure(description=f"{name} for {day} breaks its schema: {exc}") from exc
    t2 = time.perf_counter()
    write(frames)
    timing.update(extract_s=t1 - t0, transform_s=t2 - t1, write_s=time.perf_counter() - t2,
                  raw_events=len(events))
    for name, frame in frames.items():
        rows[name] += len(frame)
        per_vendor[name].update(frame["vendor"].fillna("unknown").tolist())
    if log:
        log.info(f"{day}..{end - timedelta(days=1)}: {len(events)} raw events -> " + ", ".join(f"{k}={len(v)}" for k, v in frames.items()))


COMPLETENESS = [dg.AssetCheckSpec("completeness", asset=name, blocking=True,
                                  description="raw events in the window = staged events + unmapped")
                for name in FRAMES]


@dg.multi_asset(specs=SPECS, partitions_def=DAILY, backfill_policy=SINGLE_RUN, can_subset=False,
                name="staging", check_specs=COMPLETENESS)
def staging(context: dg.AssetExecutionContext, mongo: MongoResource, warehouse: Warehouse):
    """Every raw event of the business-day window lands in exactly one frame or in stg_unmapped."""
    start, end = window_days(context)
    db = mongo.db()
    result = stage_window(db, warehouse, start, end, context.log)
    outcome = rules.completeness(*rules.completeness_counts(db, warehouse, start, end))
    for name in FRAMES:
        yield dg.MaterializeResult(asset_key=name, metadata={
            "dagster/row_count": result["rows"].get(name, 0),
            "rows_per_vendor": result["per_vendor"][name],
            "raw_events_in_window": result["raw_events"],
            **{f"seconds_{k}": v for k, v in result["timing"].items()},
        })
    for name in FRAMES:
        yield outcome.result(asset_key=name)
