"""Recovery after a crash: dead runs found in seconds, and the work automation gave up on.

Dead runs. The local deployment launches runs with Dagster's DefaultRunLauncher, whose run
monitoring cannot see a dead worker (it has no health check) and fails a run stuck in STARTING
only after `start_timeout_seconds`. The `run_recovery` sensor looks at every in-flight run each
tick: a run whose worker process (the PID its "Started process for run" event names) is gone, or
was replaced by another process of that id, is marked failed at once (a run the CLI executes
in its own process names that process in its `commercepulse/process` tag); a run still STARTING
without a worker, launched before this code server started, was lost with the previous server
(a restart of `dagster dev`) and is failed too: at once when the server it was launched on no
longer answers on its socket (Dagster's `.dagster/grpc_info` tag), else once it is older than
START_GRACE_S. A run left NOT_STARTED for START_GRACE_S (its sensor's daemon was killed between
creating and queueing it) is failed as well. Failing it lets the
sensors try its work again and Dagster's run retries retry it. Under other launchers (Kubernetes,
ECS) Dagster's run monitoring does this (`deploy/dagster.yaml`).

Gave up. Every run a level-triggered sensor requests carries its attempt number; the work of a
run whose newest attempt failed is *unfinished* until a later run of it succeeds; once its
attempts are spent (MAX_ATTEMPTS) the ERROR check `events_raw:automation_gave_up` fails, naming
the file or day, its runs and the last error (and the alert sensor posts it).
"""

import json
import os
import re
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from commercepulse.checks.catalogue import row
from commercepulse.defs.job_names import (
    BOOTSTRAP_JOB,
    BUSINESS_DAY_JOB,
    INGEST_JOB,
    PLATFORM_JOB,
    REFRESH_JOB,
    REPORTS_JOB,
)
from commercepulse.defs.landing_contract import PROCESS, TRIGGER
from commercepulse.defs.partitions import run_partition_keys
from commercepulse.defs.work import ATTEMPT, ENDED_BADLY, MAX_ATTEMPTS, last_error
from commercepulse.lib import process_identity

#: Seconds a run may stay STARTING without a worker before a lost launch is assumed.
START_GRACE_S = 15.0
#: How far back unfinished work is looked for.
LOOKBACK = timedelta(days=7)
RETRY_NUMBER = "dagster/retry_number"
STARTED_PROCESS = re.compile(r"Started process for run \(pid: (?P<pid>\d+)\)")
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
#: Created, never submitted: a daemon submits within milliseconds, so one older than
#: START_GRACE_S was lost with the process that created it.
UNSENT = [dg.DagsterRunStatus.NOT_STARTED]
CHECK = dg.AssetCheckKey(dg.AssetKey("events_raw"), "automation_gave_up")
#: What the runs of each planner do, as the overview and the check name it.
KINDS = {
    "new_data_files": "landing",
    "reconcile_business_days": "rebuild",
    "report_touched_days": "report",
    "refresh_whole_history": "refresh",
}


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """(PID, when it was reported) of a run's worker process, from its engine event
    "Started process for run (pid: N)."."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        found = STARTED_PROCESS.match(entry.message or "")
        if found:
            return int(found["pid"]), entry.timestamp
    return None


#: Where the DefaultRunLauncher launched a run: the code server's socket or port (Dagster's tag).
GRPC_INFO = ".dagster/grpc_info"


def launcher_alive(run: dg.DagsterRun) -> bool | None:
    """Whether the code server that was asked to start the run still answers on its socket or
    port (None: the run does not say where it was launched)."""
    try:
        where = json.loads(run.tags.get(GRPC_INFO, ""))
    except ValueError:
        return None
    try:
        if where.get("socket"):
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(0.5)
                sock.connect(where["socket"])
        elif where.get("port"):
            with socket.create_connection((where.get("host") or "localhost", where["port"]), 0.5):
                pass
        else:
            return None
    except OSError:
        return False
    return True


def dead_runs(
    instance: dg.DagsterInstance, server_started: float, now: float | None = None
) -> list[tuple[dg.RunRecord, str]]:
    """In-flight runs whose worker is gone, or that were created and never submitted (a daemon
    killed between creating a sensor's run and queueing it leaves it NOT_STARTED, counted as in
    flight by everything, forever), with why."""
    out = []
    now = time.time() if now is None else now
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=IN_PROGRESS + UNSENT)):
        run = record.dagster_run
        if run.status == dg.DagsterRunStatus.NOT_STARTED:
            if now - record.create_timestamp.timestamp() > START_GRACE_S:
                out.append((record, "it was created but never submitted (its creator stopped)"))
            continue
        found = worker_pid(instance, run.run_id)
        if found is None and PROCESS in run.tags:  # executed in the CLI's own process
            found = int(run.tags[PROCESS]), record.create_timestamp.timestamp()
        if found is not None:
            pid, seen = found
            if not process_identity.same_process_alive(pid, seen):
                out.append((record, f"its worker process (PID {pid}) is gone"))
            continue
        # when it was launched (a run created before a restart may be launched after it)
        launched = (
            instance.get_run_stats(run.run_id).launch_time or record.create_timestamp.timestamp()
        )
        if run.status != dg.DagsterRunStatus.STARTING or launched >= server_started:
            continue
        launcher = launcher_alive(run)
        if launcher is False or (launcher is None and now - launched > START_GRACE_S):
            out.append((record, "it was launched by a code server that is gone (a restart)"))
    return out


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark the dead runs failed (Dagster's run retries then retry them); their ids. Under another
    launcher its workers live elsewhere (Dagster's run monitoring): only unsent runs are ours."""
    local = isinstance(instance.run_launcher, dg.DefaultRunLauncher)
    server_started = process_identity.started_at(os.getpid()) or 0.0
    failed = []
    for record, why in dead_runs(instance, server_started):
        if not local and record.dagster_run.status != dg.DagsterRunStatus.NOT_STARTED:
            continue
        current = instance.get_run_by_id(record.dagster_run.run_id)
        if current is None or current.status not in IN_PROGRESS + UNSENT:
            continue
        instance.report_run_failed(
            current, f"Marked failed by the run_recovery sensor: {why}. Its work stays due."
        )
        failed.append(current.run_id)
    return failed


@dataclass(frozen=True)
class Unfinished:
    """Work whose newest attempt ended badly: waiting for its next attempt, or given up."""

    kind: str
    subject: str
    attempt: int
    last_tried: datetime
    run_ids: tuple[str, ...]
    gave_up: bool
    day: str | None = None

    def line(self, error: str = "") -> str:
        state = "gave up" if self.gave_up else "waiting for its next attempt"
        tail = f": {error}" if error else ""
        return (
            f"{self.kind} {self.subject}: {state} after {self.attempt} attempt(s), last tried "
            f"{self.last_tried:%Y-%m-%d %H:%M} UTC{tail}"
        )


def attempt_number(run: dg.DagsterRun) -> int:
    """Which attempt a run was: the sensor's number plus Dagster's retries of it."""
    return int(run.tags.get(ATTEMPT, 1)) + int(run.tags.get(RETRY_NUMBER, 0))


#: Runs started another way (the CLI, the UI, a backfill) that finish the same work.
JOB_KINDS = {
    BOOTSTRAP_JOB: "landing",
    INGEST_JOB: "landing",
    PLATFORM_JOB: "landing",
    BUSINESS_DAY_JOB: "rebuild",
    REPORTS_JOB: "report",
    REFRESH_JOB: "refresh",
}


def _subjects(run: dg.DagsterRun) -> list[tuple[str, str, str | None]]:
    """(kind, subject, day) of the work a run does."""
    kind = KINDS.get(run.tags.get(TRIGGER, "")) or JOB_KINDS.get(run.job_name)
    if kind == "landing":
        return [
            (kind, f"{run.job_name} {day}" if day else run.job_name, day)
            for day in run_partition_keys(run) or [None]
        ]
    if kind == "refresh":
        return [(kind, "of the whole-history tables", None)]
    if kind:
        return [(kind, f"of {day}", day) for day in run_partition_keys(run)]
    return []


def unfinished_work(instance: dg.DagsterInstance) -> list[Unfinished]:
    """The automation's work whose newest run failed, was killed or canceled, and no later run of
    it succeeded or is in flight; newest first."""
    since = datetime.now(UTC) - LOOKBACK
    bad = [
        r
        for r in instance.get_run_records(
            filters=dg.RunsFilter(statuses=list(ENDED_BADLY), updated_after=since)
        )
        if ATTEMPT in r.dagster_run.tags
    ]
    if not bad:
        return []  # the usual case: one cheap query
    first = min(r.create_timestamp for r in bad) - timedelta(seconds=1)
    newest: dict[tuple[str, str], tuple[dg.RunRecord, str | None]] = {}
    runs: dict[tuple[str, str], list[str]] = {}
    for record in instance.get_run_records(filters=dg.RunsFilter(created_after=first)):
        run = record.dagster_run
        if ATTEMPT not in run.tags and run.status != dg.DagsterRunStatus.SUCCESS:
            continue  # only automation's attempts are waited on; any success finishes the work
        for kind, subject, day in _subjects(run):
            key = (kind, subject)
            runs.setdefault(key, []).append(run.run_id)
            held = newest.get(key)
            if held is None or record.create_timestamp > held[0].create_timestamp:
                newest[key] = (record, day)
    out = []
    for (kind, subject), (record, day) in newest.items():
        run = record.dagster_run
        if run.status not in ENDED_BADLY:
            continue
        attempt = attempt_number(run)
        out.append(
            Unfinished(
                kind=kind,
                subject=subject,
                attempt=attempt,
                last_tried=record.create_timestamp.astimezone(UTC),
                run_ids=tuple(runs[(kind, subject)][:MAX_ATTEMPTS]),
                gave_up=attempt >= MAX_ATTEMPTS,
                day=day,
            )
        )
    return sorted(out, key=lambda u: u.last_tried, reverse=True)


def gave_up_evaluation(
    instance: dg.DagsterInstance, work: list[Unfinished] | None = None
) -> dg.AssetCheckEvaluation:
    """The check's verdict: fails naming each piece of work given up, its runs and last error."""
    work = unfinished_work(instance) if work is None else work
    gave_up = [u for u in work if u.gave_up]
    lines = [u.line(last_error(instance, u.run_ids[0])) for u in gave_up]
    return dg.AssetCheckEvaluation(
        asset_key=CHECK.asset_key,
        check_name=CHECK.name,
        passed=not gave_up,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(lines[:5])
        if gave_up
        else "no file, business day, refresh or report has spent its attempts",
        metadata={
            "gave_up": [u.line() for u in gave_up],
            "runs": [run_id for u in gave_up for run_id in u.run_ids],
            "waiting": [u.line() for u in work if not u.gave_up],
            "max_attempts": MAX_ATTEMPTS,
        },
    )


@dg.asset_check(
    asset=CHECK.asset_key,
    name=CHECK.name,
    description=row(CHECK.to_user_string()).description,
)
def automation_gave_up(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    verdict = gave_up_evaluation(context.instance)
    return dg.AssetCheckResult(
        passed=verdict.passed,
        severity=verdict.severity,
        description=verdict.description,
        metadata=verdict.metadata,
    )


@dg.sensor(
    name="run_recovery",
    minimum_interval_seconds=1,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks failed, within seconds, a run whose worker process is gone (a killed "
    "`dagster dev`, a killed worker) so its work is tried again; judges "
    "events_raw:automation_gave_up when the work automation gave up on changes.",
)
def run_recovery(context: dg.SensorEvaluationContext):
    failed = fail_dead_runs(context.instance)
    work = unfinished_work(context.instance)
    state = json.dumps(sorted(f"{u.kind} {u.subject} {u.attempt}" for u in work if u.gave_up))
    note = f"marked {len(failed)} dead run(s) failed: {', '.join(failed)}" if failed else ""
    if context.cursor == state:
        return dg.SkipReason(note or "no dead run; the work automation gave up on is unchanged")
    evaluation = gave_up_evaluation(context.instance, work)
    verdict = "passed" if evaluation.passed else f"failed: {evaluation.description}"
    return dg.SensorResult(
        asset_events=[evaluation],
        cursor=state,
        skip_reason=f"{note}{'; ' if note else ''}{CHECK.name} {verdict}",
    )
