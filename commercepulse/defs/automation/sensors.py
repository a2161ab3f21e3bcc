"""What makes new data flow in by itself.

1. `new_data_files` notices new or changed input files (name, size, content hash) and launches
   the landing job for exactly their partitions (a live ingestion day, a platform day, the dumps).
2. `reconcile_business_days` reads each landing's `business_days` metadata and rebuilds those
   business days (staging, facts, dims), skipping days already rebuilt since that landing, so
   what the main job just built is never re-run.
3. The automation condition sensor (definitions.py) then refreshes the whole-history tables,
   once the blocking checks of their inputs have passed.
4. `refresh_missed_updates` catches the one update the automation condition misses: facts
   rebuilt while a KPI refresh was already running (eager() counts that refresh as handling it).
5. `restage_on_mapping_change` re-stages the business days holding unmapped events when a
   vendor mapping file (DATA_DIR/mappings/*.json) is added or changed.
"""

import json
import time

import dagster as dg

from commercepulse.data_files import DataFile, all_files, content_hash, live_files
from commercepulse.days import contiguous_ranges
from commercepulse.defs.feeds.definitions import feeds_job
from commercepulse.defs.landing_contract import business_days_of, landing_metadata, trigger
from commercepulse.defs.partitions import INGESTION_DAILY, range_tags, valid_days
from commercepulse.defs.platform.definitions import platform_job
from commercepulse.defs.raw.definitions import bootstrap_job, ingest_job
from commercepulse.defs.resources import MongoResource, ProjectSettings
from commercepulse.mapping_files import FOLDER, fingerprint
from commercepulse.warehouse.base import Warehouse

LANDING_ASSET = {
    "ingest_job": "events_raw",
    "platform_job": "platform_raw",
    "bootstrap_job": "bootstrap_events",
}
LANDINGS = [dg.AssetKey("events_raw"), dg.AssetKey("bootstrap_events")]
STAGED = dg.AssetKey(
    "stg_orders"
)  # staging materializes its seven frames together: one stands for all
REPORTS = dg.AssetKey("quality_reports")
KPI_REVENUE = "kpi_daily_revenue"
PAGE = 1000
#: Seconds between a sensor's evaluations: a new day file reaches the KPIs within a minute.
SENSOR_INTERVAL = 5


def latest_materialization(instance: dg.DagsterInstance, asset: str, day: str | None):
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(asset), asset_partitions=[day] if day else None
        ),
        limit=1,
    ).records
    return records[0] if records else None


def changed_files(
    instance: dg.DagsterInstance, files: list[DataFile], known: dict
) -> tuple[list[DataFile], dict]:
    """Files whose content differs from the cursor's, or, on first sight, that changed after their
    partition was last landed; and the new cursor (path -> [size, mtime_ns, sha256])."""
    changed, seen = [], {}
    for file in files:
        stat = file.path.stat()
        previous = known.get(file.name)
        if previous and previous[:2] == [stat.st_size, stat.st_mtime_ns]:
            seen[file.name] = previous
            continue
        digest = content_hash(file.path)
        seen[file.name] = [stat.st_size, stat.st_mtime_ns, digest]
        if previous and previous[2] == digest:
            continue  # touched, not changed
        if previous is None:
            landed = latest_materialization(instance, LANDING_ASSET[file.job], file.day)
            if landed is not None and landed.timestamp >= stat.st_mtime:
                continue  # already landed after its last change (e.g. by `commercepulse run`)
        changed.append(file)
    return changed, seen


@dg.sensor(
    name="new_data_files",
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    jobs=[ingest_job, platform_job, bootstrap_job],
    description="Lands new or changed files of DATA_DIR (live_events/D/events.jsonl, platform/<source>/D.jsonl, "
    "bootstrap/*.json): one run of the landing job per changed partition.",
)
def new_data_files(context: dg.SensorEvaluationContext, settings: ProjectSettings):
    files = all_files(settings.data_path)
    valid = set(valid_days([f.day for f in files if f.day], INGESTION_DAILY))
    files = [f for f in files if f.day is None or f.day in valid]
    changed, cursor = changed_files(context.instance, files, json.loads(context.cursor or "{}"))
    groups: dict[tuple[str, str | None], list[str]] = {}
    for file in changed:
        groups.setdefault((file.job, file.day), []).append(cursor[file.name][2][:12])
    for (job, day), digests in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        yield dg.RunRequest(
            run_key=f"{job}:{day}:{'-'.join(sorted(digests))}",
            job_name=job,
            partition_key=day,
            tags=trigger("new_data_files"),
        )
    context.update_cursor(json.dumps(cursor))


def landings_after(instance: dg.DagsterInstance, after: int):
    """Materialization records of the landing assets stored after `after`, oldest first."""
    for key in LANDINGS:
        cursor = None
        while True:
            result = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, after_storage_id=after),
                limit=PAGE,
                cursor=cursor,
                ascending=True,
            )
            yield from result.records
            if not result.has_more:
                break
            cursor = result.cursor


def landed_days(
    instance: dg.DagsterInstance, after: int
) -> tuple[dict[str, int], dict[str, int], int]:
    """For landings after `after`: {business day: storage id of the latest landing that touched it},
    {ingestion day: storage id of its latest landing}, and the latest storage id seen."""
    business: dict[str, int] = {}
    ingestion: dict[str, int] = {}
    latest = after
    for record in landings_after(instance, after):
        latest = max(latest, record.storage_id)
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        for day in business_days_of(metadata):
            business[day] = max(business.get(day, 0), record.storage_id)
        if record.partition_key:
            ingestion[record.partition_key] = max(
                ingestion.get(record.partition_key, 0), record.storage_id
            )
    return business, ingestion, latest


def landed_business_days(instance: dg.DagsterInstance, after: int) -> tuple[dict[str, int], int]:
    """{business day: storage id of the latest landing that touched it} for landings after `after`."""
    business, _, latest = landed_days(instance, after)
    return business, latest


def rebuilt_since(
    instance: dg.DagsterInstance, days: dict[str, int], asset: dg.AssetKey = None
) -> set[str]:
    """The days whose `asset` partition (default: staging) was materialized after the landing that touched them."""
    if not days:
        return set()
    done: set[str] = set()
    cursor = None
    while True:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=asset or STAGED,
                asset_partitions=sorted(days),
                after_storage_id=min(days.values()),
            ),
            limit=PAGE,
            cursor=cursor,
            ascending=True,
        )
        for record in result.records:
            if record.partition_key in days and record.storage_id > days[record.partition_key]:
                done.add(record.partition_key)
        if not result.has_more:
            return done
        cursor = result.cursor


@dg.sensor(
    name="reconcile_business_days",
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    job_name="business_day_job",
    description="Rebuilds exactly the business days a landing touched (late data included), "
    "unless they were rebuilt after it; consecutive days go as one range run.",
)
def reconcile_business_days(context: dg.SensorEvaluationContext):
    after = int(context.cursor or 0)
    days, latest = landed_business_days(context.instance, after)
    todo = valid_days(sorted(set(days) - rebuilt_since(context.instance, days)))
    for first, last in contiguous_ranges(todo):
        tags = range_tags(first, last) | trigger("reconcile_business_days")
        if first == last:
            yield dg.RunRequest(
                run_key=f"reconcile:{first}:{latest}",
                partition_key=first,
                tags=trigger("reconcile_business_days"),
            )
        else:
            yield dg.RunRequest(run_key=f"reconcile:{first}:{last}:{latest}", tags=tags)
    context.update_cursor(str(latest))


FACTS = "fact_orders"  # business_day_job rebuilds every fact together: one stands for all
#: Seconds facts may be newer than the KPIs before this sensor steps in (the automation sensor
#: normally requests the refresh within one tick).
GRACE_SECONDS = 15
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def kpis_behind_facts(instance: dg.DagsterInstance):
    """The latest facts materialization when it is newer than the start of the run that last refreshed
    the KPIs (that refresh may not have read it); None when the KPIs are up to date."""
    facts = latest_materialization(instance, FACTS, None)
    if facts is None:
        return None
    kpis = latest_materialization(instance, KPI_REVENUE, None)
    if kpis is None:
        return facts
    run = instance.get_run_record_by_id(kpis.run_id) if kpis.run_id else None
    started = run.start_time if run is not None and run.start_time else kpis.timestamp
    return facts if facts.timestamp > started else None


@dg.sensor(
    name="refresh_missed_updates",
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    job_name="refresh_job",
    description="Refreshes the KPIs when facts were rebuilt after the last refresh had started (an update "
    "the automation condition counts as handled); waits GRACE_SECONDS and for running work first.",
)
def refresh_missed_updates(context: dg.SensorEvaluationContext):
    behind = kpis_behind_facts(context.instance)
    if behind is None:
        return dg.SkipReason("the KPIs are newer than the facts")
    if context.instance.get_runs_count(dg.RunsFilter(statuses=IN_FLIGHT)):
        return dg.SkipReason(
            "runs are in flight: the automation condition may still refresh the KPIs"
        )
    if time.time() - behind.timestamp < GRACE_SECONDS:
        return dg.SkipReason(
            "facts newer than the KPIs: leaving the automation condition its turn first"
        )
    return [
        dg.RunRequest(
            run_key=f"refresh-missed:{behind.storage_id}", tags=trigger("refresh_missed_updates")
        )
    ]


@dg.sensor(
    name="report_touched_days",
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    job_name="reports_job",
    description="Once the KPIs are refreshed after a landing, rewrites the daily reports of the days it "
    "touched (its business days and ingestion day), unless reported since.",
)
def report_touched_days(context: dg.SensorEvaluationContext):
    after = int(context.cursor or 0)
    business, ingestion, latest = landed_days(context.instance, after)
    days = {
        day: max(business.get(day, 0), ingestion.get(day, 0))
        for day in set(business) | set(ingestion)
    }
    valid = set(valid_days(sorted(days)))
    todo = {day: sid for day, sid in days.items() if day in valid}
    reported = rebuilt_since(context.instance, todo, REPORTS)
    todo = {day: sid for day, sid in todo.items() if day not in reported}
    if not todo:
        context.update_cursor(str(latest))
        return dg.SkipReason("no landed day is waiting for its report")
    refreshed = latest_materialization(context.instance, KPI_REVENUE, None)
    if (
        refreshed is None
        or refreshed.storage_id < max(todo.values())
        or kpis_behind_facts(context.instance)
    ):
        return dg.SkipReason("waiting for the KPI refresh after the latest landing")
    context.update_cursor(str(latest))
    tags = trigger("report_touched_days")
    return [
        dg.RunRequest(
            run_key=f"reports:{first}:{last}:{latest}",
            partition_key=first if first == last else None,
            tags=tags if first == last else tags | range_tags(first, last),
        )
        for first, last in contiguous_ranges(sorted(todo), bridge=31)
    ]


UNMAPPED_EVENTS = "SELECT event_id, event_date FROM stg_unmapped"
#: The cursor of "no mapping file" (an empty cursor is stored as none by the daemon: not a first look).
NO_MAPPINGS = "built-in only"


def unmapped_landings(db, events) -> dict[str, set[str]]:
    """{ingestion day ("" = the dumps): business days} of the unmapped events."""
    day_of = {
        d["_id"]: d["source"].get("ingestion_day") or ""
        for d in db["events_raw"].find(
            {"_id": {"$in": events["event_id"].tolist()}}, {"source.ingestion_day": 1}
        )
    }
    out: dict[str, set[str]] = {}
    for event_id, business_day in zip(events["event_id"], events["event_date"]):
        out.setdefault(day_of.get(event_id, ""), set()).add(business_day.date().isoformat())
    return out


@dg.sensor(
    name="restage_on_mapping_change",
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    jobs=[feeds_job],
    description="When a vendor mapping file (DATA_DIR/mappings/*.json) is added or changed, the landings of "
    "unmapped events are recorded again (so their business days are rebuilt and reported, as after "
    "a landing) and their ingestion days' vendor feed figures are recomputed.",
)
def restage_on_mapping_change(
    context: dg.SensorEvaluationContext,
    settings: ProjectSettings,
    mongo: MongoResource,
    warehouse: dg.ResourceParam[Warehouse],
):
    current = fingerprint(settings.data_path / FOLDER) or NO_MAPPINGS
    if context.cursor is None or context.cursor == current:
        context.update_cursor(current)
        return dg.SkipReason("the vendor mappings are unchanged")
    context.update_cursor(current)
    landings = unmapped_landings(mongo.db(), warehouse.query(UNMAPPED_EVENTS))
    if not landings:
        return dg.SkipReason("the mappings changed; no unmapped event is waiting")

    def metadata(days):
        return landing_metadata(days, reason=f"vendor mappings changed ({current[:12]})")

    events = [
        dg.AssetMaterialization("events_raw", partition=day, metadata=metadata(days))
        for day, days in sorted(landings.items())
        if day
    ]
    if "" in landings:
        events.append(dg.AssetMaterialization("bootstrap_events", metadata=metadata(landings[""])))
    days = valid_days(sorted(day for day in landings if day), INGESTION_DAILY)
    tags = trigger("restage_on_mapping_change")
    runs = [
        dg.RunRequest(
            run_key=f"remap-feeds:{current[:12]}:{first}:{last}",
            job_name="feeds_job",
            partition_key=first if first == last else None,
            tags=tags if first == last else tags | range_tags(first, last),
        )
        for first, last in contiguous_ranges(days, bridge=31)
    ]
    return dg.SensorResult(run_requests=runs, asset_events=events)


@dg.schedule(
    name="daily_ingest",
    cron_schedule="0 1 * * *",
    job_name="ingest_job",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Safety net beside new_data_files: every day at 01:00 UTC, land any live ingestion day "
    "whose file exists but whose partition was never landed.",
)
def daily_ingest(context: dg.ScheduleEvaluationContext, settings: ProjectSettings):
    pending = [
        f.day
        for f in live_files(settings.data_path)
        if valid_days([f.day], INGESTION_DAILY)
        and latest_materialization(context.instance, "events_raw", f.day) is None
    ]
    if not pending:
        return dg.SkipReason("every live ingestion day present in DATA_DIR is landed")
    return [dg.RunRequest(run_key=f"daily_ingest:{day}", partition_key=day) for day in pending]
