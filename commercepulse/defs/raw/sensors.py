"""New input files land by themselves: live day files, platform source files and the dumps.

Level-triggered: a file is due until every asset of its landing job holds a materialization of
its partition from a run that started after the file's last change (a sensor's run, a retry, a
re-execution from the UI, `commercepulse run`). A due file gets an attempt (see `defs/work.py`):
a run that failed, was killed or canceled leaves the file due, and the next tick tries again
under a new run key, with back-off, until the attempts are spent. The cursor only caches what is
known for sure: each file's size, mtime and digest, and the digest confirmed landed.
"""

import json
import time as clock
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from commercepulse.data_files import all_files, content_hash, not_begun
from commercepulse.defs.instance_queries import SENSOR_INTERVAL, in_flight_runs, run_started
from commercepulse.defs.job_names import LANDING_JOB_OF
from commercepulse.defs.landing_contract import trigger
from commercepulse.defs.partitions import INGESTION_DAILY, run_partition_keys, valid_days
from commercepulse.defs.platform.jobs import platform_job
from commercepulse.defs.raw.jobs import bootstrap_job, ingest_job
from commercepulse.defs.reports.overview_now import rewrite_overview
from commercepulse.defs.resources import ProjectSettings
from commercepulse.defs.work import attempt_tags, attempts_of, decide

#: The cursor's entry of the days whose files wait for their UTC day (shown on the overview).
WAITING = "~waiting"
#: A file that cannot be read has this digest prefix; its landing fails and says why.
UNREADABLE = "unreadable"


def file_digest(path: Path, known: list | None) -> list | None:
    """The cursor entry [size, mtime_ns, digest, confirmed digest], or None for a file gone since
    it was listed. An unreadable file (a directory, no permission) gets a digest that
    says so, so it is attempted, fails with its reason and ends in the red check."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    if known and known[:2] == [stat.st_size, stat.st_mtime_ns]:
        return [*known[:3], known[3] if len(known) > 3 else None]
    try:
        digest = content_hash(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        digest = f"{UNREADABLE}:{type(exc).__name__}"
    confirmed = known[3] if known and len(known) > 3 else None
    return [stat.st_size, stat.st_mtime_ns, digest, confirmed if confirmed == digest else None]


def landed_since(
    instance: dg.DagsterInstance, graph, job: dg.JobDefinition, day: str | None, since: float
) -> bool:
    """Every asset of `job` (of the file's partition, or unpartitioned) was materialized by a run
    that started after `since` (the file's last change): what that run read is this content."""
    keys = [
        key
        for key in job.asset_layer.selected_asset_keys
        if graph.has(key) and graph.get(key).is_partitioned == (day is not None)
    ]
    for key in keys:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day] if day else None), limit=1
        ).records
        if not records or run_started(instance, records[0]) < since:
            return False
    return bool(keys)


def in_flight_partitions(instance: dg.DagsterInstance) -> set[tuple[str, str | None]]:
    """(job, day) of every queued or running run (a day of a range run counts)."""
    out: set[tuple[str, str | None]] = set()
    for run in in_flight_runs(instance):
        days = run_partition_keys(run)
        out.update((run.job_name, day) for day in days or [None])
    return out


@dg.sensor(
    name="new_data_files",
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    jobs=[ingest_job, platform_job, bootstrap_job],
    description="Lands new or changed files of DATA_DIR (live_events/D/events.jsonl, "
    "platform/<source>/D.jsonl, bootstrap/*.json) until a landing after their last change "
    "succeeds: one run of the landing job per due partition, retried with back-off.",
)
def new_data_files(context: dg.SensorEvaluationContext, settings: ProjectSettings):
    repository = context.repository_def
    files = all_files(settings.data_path)
    valid = set(valid_days([f.day for f in files if f.day], INGESTION_DAILY))
    now = datetime.now(UTC)
    early_days = sorted({f.day for f in files if f.day and f.day not in valid})
    start = INGESTION_DAILY.start.date().isoformat()
    before = [d for d in early_days if d < start]  # never landed in silence: said what to do
    early = "; ".join(
        not_begun(early_days, now)
        + (
            [
                f"{len(before)} day file(s) before the ingestion calendar's start {start} "
                f"({before[0]}…{before[-1]}): restart `make ui` (the calendar then starts where "
                "the data starts) or set INGESTION_START earlier"
            ]
            if before
            else []
        )
    )
    files = [f for f in files if f.day is None or f.day in valid]
    known = json.loads(context.cursor or "{}")
    cursor: dict[str, list] = {}
    due: dict[tuple[str, str | None], list[str]] = {}
    for file in files:
        entry = file_digest(file.path, known.get(file.name))
        if entry is None:
            continue  # removed since it was listed: nothing to land
        cursor[file.name] = entry
        if entry[3] == entry[2]:
            continue
        if not entry[2].startswith(UNREADABLE) and landed_since(
            context.instance,
            repository.asset_graph,
            repository.get_job(LANDING_JOB_OF[file.kind]),
            file.day,
            entry[1] / 1e9,
        ):
            entry[3] = entry[2]  # confirmed: a touch without change lands nothing
            continue
        due.setdefault((LANDING_JOB_OF[file.kind], file.day), []).append(entry[2][:12])
    requests, waiting = _requests(context.instance, due)
    waiting = "; ".join(w for w in (waiting, early) if w)
    days_waiting = [d for d in early_days if d > now.date().isoformat()]
    if days_waiting != known.get(WAITING, []):  # the overview says so now, not at the next report
        rewrite_overview(context.instance, settings)
    if days_waiting:
        cursor[WAITING] = days_waiting
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(cursor),
        skip_reason=None
        if requests
        else (waiting or "every file has landed since its last change"),
    )


def _requests(
    instance: dg.DagsterInstance, due: dict[tuple[str, str | None], list[str]]
) -> tuple[list[dg.RunRequest], str]:
    """Run requests for the due partitions that get an attempt now, and why the others wait."""
    works = {key: f"{key[0]}:{key[1] or '-'}:{'-'.join(sorted(d))}" for key, d in due.items()}
    attempts = attempts_of(instance, works.values())
    busy = in_flight_partitions(instance) if due else set()
    requests, waiting, now = [], [], clock.time()
    for (job, day), work in sorted(works.items(), key=lambda kv: kv[1]):
        decision = decide(attempts[work], now)
        if decision.action == "run" and (job, day) in busy:
            decision = decision.__class__("wait", reason="a run of its partition is in flight")
        if decision.action != "run":
            waiting.append(f"{job} {day or ''}: {decision.reason}".replace(" :", ":"))
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"{work}:{decision.attempt}",
                job_name=job,
                partition_key=day,
                tags={**trigger("new_data_files"), **attempt_tags(work, decision.attempt)},
            )
        )
    return requests, "; ".join(waiting[:5])
