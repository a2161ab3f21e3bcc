"""Raw landing assets: the bootstrap dumps and the live stream by ingestion day."""

import dagster as dg

from commercepulse.mongo.resource import MongoResource
from commercepulse.partitions import DAILY, SINGLE_RUN, days_between, window_days
from commercepulse.raw.bootstrap import ingest_bootstrap
from commercepulse.raw.landing import IngestStats
from commercepulse.raw.live import ingest_live
from commercepulse.settings import get_settings

RAW_GROUP = "raw"


def _metadata(stats: IngestStats, **extra) -> dict:
    return {"files": stats.files, "lines_read": stats.lines_read, "landed": stats.landed,
            "duplicates": stats.duplicates, "quarantined": stats.quarantined, "blank_lines": stats.blank_lines,
            "business_days": sorted(stats.business_days), **extra}


@dg.asset(group_name=RAW_GROUP, kinds={"mongodb"},
          description="Historical dumps landed in events_raw as synthetic events (idempotent).")
def bootstrap_events(context: dg.AssetExecutionContext, mongo: MongoResource) -> dg.MaterializeResult:
    folder = get_settings().data_dir / "bootstrap"
    if not folder.is_dir():
        context.log.warning(f"no bootstrap folder at {folder}: nothing to land")
        return dg.MaterializeResult(metadata=_metadata(IngestStats(), skipped=str(folder)))
    stats, per_kind = ingest_bootstrap(mongo.db(), folder)
    context.log.info(f"bootstrap: {stats.as_dict() | {'business_days': len(stats.business_days)}}")
    return dg.MaterializeResult(metadata=_metadata(stats, records_per_kind=per_kind))


@dg.asset(group_name=RAW_GROUP, kinds={"mongodb"}, partitions_def=DAILY, backfill_policy=SINGLE_RUN,
          description="Live events of an ingestion day (DATA_DIR/live_events/D/events.jsonl) in events_raw.")
def events_raw(context: dg.AssetExecutionContext, mongo: MongoResource) -> dg.MaterializeResult:
    start, end = window_days(context)
    root = get_settings().data_dir / "live_events"
    files = [root / d.isoformat() / "events.jsonl" for d in days_between(start, end)]
    present = [f for f in files if f.is_file()]
    missing = [f.parent.name for f in files if not f.is_file()]
    if not present:
        raise dg.Failure(description=f"No live events file for {start}..{end}: expected "
                                     f"{files[0]} (generate one with `commercepulse generate live`).")
    if missing:
        context.log.warning(f"skipping {len(missing)} day(s) without a file: {missing[:10]}")
    stats = IngestStats()
    for path in present:
        day_stats = ingest_live(mongo.db(), [path])
        context.log.info(f"{path.parent.name}: {day_stats.as_dict() | {'business_days': len(day_stats.business_days)}}")
        stats.merge(day_stats)
    return dg.MaterializeResult(metadata=_metadata(stats, missing_days=missing))
