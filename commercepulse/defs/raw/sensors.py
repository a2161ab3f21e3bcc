"""New input files land by themselves: live day files, platform source files and the dumps."""

import json

import dagster as dg

from commercepulse.data_files import DataFile, all_files, content_hash
from commercepulse.defs.instance_queries import SENSOR_INTERVAL, latest_materialization
from commercepulse.defs.landing_contract import trigger
from commercepulse.defs.partitions import INGESTION_DAILY, valid_days
from commercepulse.defs.platform.jobs import platform_job
from commercepulse.defs.raw.jobs import bootstrap_job, ingest_job
from commercepulse.defs.resources import ProjectSettings

LANDING_ASSET = {
    "ingest_job": "events_raw",
    "platform_job": "platform_raw",
    "bootstrap_job": "bootstrap_events",
}


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
    description="Lands new or changed files of DATA_DIR (live_events/D/events.jsonl, "
    "platform/<source>/D.jsonl, bootstrap/*.json): one run of the landing job per changed partition.",
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
