"""Attempts at a piece of due work, read from the instance's runs: what level-triggered sensors
decide from. A sensor says what *should* exist (a file landed, a day rebuilt, a report written);
while it does not, the work is due, and this module says whether to start an attempt now, wait
(an attempt in flight, a retry Dagster announced, a back-off) or give up (the attempts are spent).

A failed, killed or canceled run leaves its work due, so the next tick tries again under a new run
key. Dagster's own run retries (`run_retries`, from failure) count as attempts: a retry carries its
parent's tags, and each request caps Dagster's retries (`dagster/max_retries`) at what is left of
the budget, so the two never add up to more than MAX_ATTEMPTS.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg

from commercepulse.defs.instance_queries import IN_FLIGHT
from commercepulse.defs.landing_contract import LANDED_THROUGH, TRIGGER, trigger
from commercepulse.defs.partitions import day_range_request, run_partition_keys
from commercepulse.lib.days import contiguous_ranges

#: The tag naming the work a run does (a file's content, a refresh's digest).
WORK = "commercepulse/work"
#: Which attempt at its work a run is (1, 2, ...), on the runs the sensors request.
ATTEMPT = "commercepulse/attempt"
#: Attempts at one piece of work (Dagster's retries included) before automation gives up on it
#: and `events_raw:automation_gave_up` turns red.
MAX_ATTEMPTS = 4
#: Seconds after a failed attempt before the next one: 15, 30, 60 ... at most BACKOFF_MAX_S.
BACKOFF_S, BACKOFF_MAX_S = 15.0, 300.0
#: How long a failed run Dagster announced a retry for (`dagster/will_retry`) is left to it.
RETRY_GRACE_S = 60.0
MAX_RETRIES_TAG, WILL_RETRY_TAG, PARENT_TAG = (
    "dagster/max_retries",
    "dagster/will_retry",
    "dagster/parent_run_id",
)
ENDED_BADLY = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@dataclass
class Attempts:
    """The runs of one piece of work, newest first."""

    runs: list[dg.RunRecord] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.runs)

    @property
    def in_flight(self) -> bool:
        return any(r.dagster_run.status in IN_FLIGHT for r in self.runs)

    @property
    def failed(self) -> list[dg.RunRecord]:
        return [r for r in self.runs if r.dagster_run.status in ENDED_BADLY]

    def retry_pending(self, now: float) -> bool:
        """A failed run Dagster said it will retry, whose retry does not exist yet."""
        parents = {r.dagster_run.tags.get(PARENT_TAG) for r in self.runs}
        return any(
            r.dagster_run.tags.get(WILL_RETRY_TAG) == "true"
            and r.dagster_run.run_id not in parents
            and now - (r.end_time or now) < RETRY_GRACE_S
            for r in self.failed
        )

    def backoff_left(self, now: float) -> float:
        """Seconds to wait before the next attempt after the last failure."""
        ended = [r.end_time for r in self.failed if r.end_time]
        if not ended:
            return 0.0
        wait = min(BACKOFF_S * 2 ** (len(self.failed) - 1), BACKOFF_MAX_S)
        return max(0.0, max(ended) + wait - now)


@dataclass(frozen=True)
class Decision:
    """What to do with due work now: `run` (attempt number `attempt`), `wait` or `gave_up`."""

    action: str
    attempt: int = 0
    reason: str = ""


def decide(attempts: Attempts, now: float | None = None) -> Decision:
    now = time.time() if now is None else now
    if attempts.in_flight:
        return Decision("wait", reason="an attempt is queued or running")
    if attempts.count >= MAX_ATTEMPTS:
        return Decision("gave_up", reason=f"{attempts.count} attempts failed")
    if attempts.retry_pending(now):
        return Decision("wait", reason="Dagster retries the failed run")
    left = attempts.backoff_left(now)
    if left > 0:
        return Decision("wait", reason=f"next attempt in {left:.0f} s")
    return Decision("run", attempt=attempts.count + 1)


def retry_pending_for(instance: dg.DagsterInstance, jobs: set[str]) -> bool:
    """A failed run of one of `jobs` that Dagster said it will retry, whose retry does not exist
    yet (a refresh waits for it rather than run twice)."""
    since = _utc(time.time() - RETRY_GRACE_S)
    failed = instance.get_run_records(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE], updated_after=since)
    )
    return any(
        r.dagster_run.job_name in jobs
        and r.dagster_run.tags.get(WILL_RETRY_TAG) == "true"
        and not instance.get_runs(
            filters=dg.RunsFilter(tags={PARENT_TAG: r.dagster_run.run_id}), limit=1
        )
        for r in failed
    )


def attempt_tags(work: str | None, attempt: int) -> dict[str, str]:
    """Tags of a requested attempt: its work, its number, and Dagster's retries capped at what is
    left of the budget."""
    tags = {ATTEMPT: str(attempt), MAX_RETRIES_TAG: str(max(0, MAX_ATTEMPTS - attempt))}
    return {**tags, WORK: work} if work else tags


def attempts_of(instance: dg.DagsterInstance, works: Iterable[str]) -> dict[str, Attempts]:
    """{work: its attempts} for runs tagged with one of `works` (retries and re-executions
    inherit the tag)."""
    wanted = sorted(set(works))
    found: dict[str, Attempts] = {w: Attempts() for w in wanted}
    if wanted:
        for record in instance.get_run_records(filters=dg.RunsFilter(tags={WORK: wanted})):
            found[record.dagster_run.tags[WORK]].runs.append(record)
    return found


def attempts_by_day(
    instance: dg.DagsterInstance,
    trigger: tuple[str, str],
    since: dict[str, tuple[int, float]],
    through_tag: str,
) -> dict[str, Attempts]:
    """{day: the runs planned for it since it was touched}: runs tagged `trigger` (a (tag, value)
    pair) created after the day's touch (`since[day]` = (storage id, time)), covering the day,
    planned from that touch on (their `through_tag` >= its storage id)."""
    found: dict[str, Attempts] = {day: Attempts() for day in since}
    if not since:
        return found
    earliest = min(when for _, when in since.values())
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            tags={trigger[0]: trigger[1]},
            created_after=_utc(earliest - 1),
        )
    )
    for record in records:
        through = int(record.dagster_run.tags.get(through_tag, 0))
        for day in run_partition_keys(record.dagster_run):
            if day in since and through >= since[day][0]:
                found[day].runs.append(record)
    return found


def day_attempts(
    instance: dg.DagsterInstance,
    due: dict[str, tuple[int, float]],
    planner: str,
    key: str,
    latest: int,
    bridge: int = 1,
) -> tuple[list[dg.RunRequest], list[str]]:
    """Range runs over the due days that get an attempt now (days at most `bridge` apart share a
    run; 1: consecutive days), planned by the sensor `planner` from the landings up to storage id
    `latest`; and why the other days wait."""
    attempts = attempts_by_day(instance, (TRIGGER, planner), due, LANDED_THROUGH)
    now, run, waiting, attempt = time.time(), [], [], 1
    for day in sorted(due):
        decision = decide(attempts[day], now)
        if decision.action == "run":
            run.append(day)
            attempt = max(attempt, decision.attempt)
        else:
            waiting.append(f"{day}: {decision.reason}")
    tags = {**trigger(planner), LANDED_THROUGH: str(latest), **attempt_tags(None, attempt)}
    requests = [
        day_range_request(f"{key}:{first}:{last}:{latest}:{attempt}", first, last, tags)
        for first, last in contiguous_ranges(run, bridge=bridge)
    ]
    return requests, waiting


def last_error(instance: dg.DagsterInstance, run_id: str) -> str:
    """The first line of why a run failed: its failed step's error, else the run's failure."""
    events = instance.all_logs(
        run_id, of_type={dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE}
    )
    for entry in events:
        event = entry.dagster_event
        data = getattr(event, "step_failure_data", None) if event else None
        if data is not None and data.error is not None:
            return (data.user_failure_data and data.user_failure_data.description) or (
                data.error.message.strip().splitlines() or [""]
            )[0]
    for entry in events:
        if entry.dagster_event and entry.dagster_event.message:
            return entry.dagster_event.message.strip().splitlines()[0]
    return "no error recorded (the run was canceled or its process died)"


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
