"""Raw landing into MongoDB `events_raw`: the bootstrap dumps and the live stream by ingestion
day, with the checks that judge each ingestion day."""

import dagster as dg

from commercepulse.defs.asset_checks import asset_checks
from commercepulse.defs.landing_contract import landing_metadata
from commercepulse.defs.partitions import INGESTION_DAILY, SINGLE_RUN, window_days
from commercepulse.defs.resources import MongoResource, ProjectSettings
from commercepulse.defs.retries import mongo_retries
from commercepulse.lib.days import days_between
from commercepulse.raw.bootstrap import ingest_bootstrap
from commercepulse.raw.landing import IngestStats
from commercepulse.raw.live import ingest_live_parallel
from commercepulse.staging.feed_tags import FeedTagger

RAW_GROUP = "raw"


def _metadata(stats: IngestStats, **extra) -> dict:
    return landing_metadata(
        stats.business_days,
        files=stats.files,
        lines_read=stats.lines_read,
        landed=stats.landed,
        duplicates=stats.duplicates,
        quarantined=stats.quarantined,
        blank_lines=stats.blank_lines,
        **extra,
    )


@dg.asset(group_name=RAW_GROUP, kinds={"mongodb"})
def bootstrap_events(
    context: dg.AssetExecutionContext, mongo: MongoResource, settings: ProjectSettings
) -> dg.MaterializeResult:
    """Historical dumps (DATA_DIR/bootstrap/*.json) landed in events_raw as synthetic events (idempotent)."""
    folder = settings.data_path / "bootstrap"
    if not folder.is_dir():
        context.log.warning(f"no bootstrap folder at {folder}: nothing to land")
        return dg.MaterializeResult(metadata=_metadata(IngestStats(), skipped=str(folder)))
    with mongo_retries(context):
        stats, per_kind = ingest_bootstrap(mongo.db(), folder)
    context.log.info(f"bootstrap: {stats.summary()}")
    return dg.MaterializeResult(metadata=_metadata(stats, records_per_kind=per_kind))


@dg.asset(
    group_name=RAW_GROUP,
    kinds={"mongodb"},
    partitions_def=INGESTION_DAILY,
    backfill_policy=SINGLE_RUN,
)
def events_raw(
    context: dg.AssetExecutionContext, mongo: MongoResource, settings: ProjectSettings
) -> dg.MaterializeResult:
    """Live events of an ingestion day (DATA_DIR/live_events/D/events.jsonl) landed in events_raw."""
    start, end = window_days(context)
    root = settings.data_path / "live_events"
    files = [root / d.isoformat() / "events.jsonl" for d in days_between(start, end)]
    present = [f for f in files if f.is_file()]
    missing = [f.parent.name for f in files if not f.is_file()]
    if not present:
        raise dg.Failure(
            description=f"No live events file for {start}..{end}: expected "
            f"{files[0]} (generate one with `commercepulse generate live`)."
        )
    if missing:
        context.log.warning(f"skipping {len(missing)} day(s) without a file: {missing[:10]}")
    # several days (a backfill): files land side by side in `settings.processes` processes;
    # a single day's file lands in this process
    with mongo_retries(context):
        stats = ingest_live_parallel(
            mongo.address(),
            mongo.database,
            present,
            settings.processes if len(present) > 1 else 1,
            on_file=lambda path, day_stats: context.log.info(
                f"{path.parent.name}: {day_stats.summary()}"
            ),
            tagger=FeedTagger(str(settings.data_path)),
        )
    return dg.MaterializeResult(metadata=_metadata(stats, missing_days=missing))


RAW_CHECKS = asset_checks(events_raw)
