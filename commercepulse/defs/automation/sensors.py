"""One refresh after the work that changes its inputs: the whole-history tables (dim_date, KPIs,
Gold) and the whole-history checks, run by `refresh_job` for exactly what changed.

Declarative automation (eager()) refreshed each table as soon as its own inputs were updated,
mid-way through a business-day rebuild, so one new day cost several refresh runs (and eager()
counts a refresh already queued as handling a newer update). This sensor decides per tick:

- a backfill is running: wait, and refresh once after its last run;
- a refresh is queued or running: wait (what changes meanwhile is refreshed after it);
- a landing is running, or a business day it touched since the last refresh has no rebuild
  yet (none done after it, none queued after it): wait, or the refresh reads raw events that
  staging has not seen (the blocking completeness check fails) and restates days half-rebuilt;
- a rebuild run is in flight: request the refresh of the tables it feeds now, so it is queued
  right behind that run (the queue runs one at a time) and reads what it wrote; but not while
  that run is created and not yet queued (the refresh would be queued ahead of it);
- otherwise: refresh the tables some input of which was materialized after their last refresh
  started (a manual materialization, a replay), and judge the checks whose asset changed.

Level-triggered: what is stale stays stale until a refresh succeeds, so a refresh that failed or
was killed is requested again (a new attempt, with back-off; `defs/work.py`).
Blocking checks run in the same run before the tables that read their assets.
"""

import hashlib

import dagster as dg

from commercepulse.checks.spec import HISTORY
from commercepulse.defs.asset_checks import check_keys
from commercepulse.defs.automation.jobs import refresh_job
from commercepulse.defs.automation.refresh_queries import (
    BACKFILL_TAG,
    days_awaiting_rebuild,
    stale_checks,
    unplanned_days,
    whole_history_after,
)
from commercepulse.defs.instance_queries import (
    KPI_REVENUE,
    SENSOR_INTERVAL,
    in_flight_runs,
    latest_materialization,
    refreshes_behind,
    run_assets,
)
from commercepulse.defs.job_names import (
    BOOTSTRAP_JOB,
    BUSINESS_DAY_JOB,
    EXPLAIN_JOB,
    INGEST_JOB,
    REFRESH_JOB,
    REPORTS_JOB,
    WHY_JOB,
)
from commercepulse.defs.landing_contract import RECONCILE, trigger
from commercepulse.defs.partitions import valid_days
from commercepulse.defs.work import attempt_tags, attempts_of, decide, retry_pending_for

#: Runs that change no input of a refresh.
NOT_INPUTS = {REPORTS_JOB, EXPLAIN_JOB, WHY_JOB, REFRESH_JOB}
#: Landings: a business-day rebuild follows them, and the refresh follows that.
LANDINGS = {INGEST_JOB, BOOTSTRAP_JOB}
STAGED = "stg_orders"  # staging materializes its frames together: one stands for all


@dg.sensor(
    name="refresh_whole_history",
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    job=refresh_job,
    description="One refresh of the whole-history tables and checks after the work that changed "
    "their inputs (queued right behind a rebuild; once after a backfill); only what changed.",
)
def refresh_whole_history(context: dg.SensorEvaluationContext):
    repository = context.repository_def
    graph = repository.asset_graph
    runs = in_flight_runs(context.instance)
    if any(BACKFILL_TAG in r.tags for r in runs):
        return dg.SkipReason("a backfill is in progress: one refresh once its last run has ended")
    if any(r.job_name == REFRESH_JOB for r in runs):
        return dg.SkipReason("a refresh is queued or running; what changes meanwhile follows it")
    if any(r.job_name in LANDINGS for r in runs):
        return dg.SkipReason("a landing is in progress: its business days' rebuild comes first")
    if retry_pending_for(context.instance, LANDINGS | {BUSINESS_DAY_JOB}):
        return dg.SkipReason("a failed landing or rebuild is about to be retried: it comes first")
    feeding = [r for r in runs if r.job_name not in NOT_INPUTS]
    if any(r.status == dg.DagsterRunStatus.NOT_STARTED for r in feeding):
        # created by another sensor and not yet submitted: a refresh requested now would be
        # queued ahead of it and read the days before their rebuild (run_recovery fails a run
        # never submitted, so this waits seconds at most)
        return dg.SkipReason("a rebuild is being submitted to the queue: the refresh follows it")
    refreshed = latest_materialization(context.instance, KPI_REVENUE)
    waiting = days_awaiting_rebuild(
        context.instance, STAGED, valid_days, refreshed.storage_id if refreshed else 0
    )
    unplanned = unplanned_days(context.instance, waiting, feeding, RECONCILE)
    if unplanned:
        return dg.SkipReason(
            f"{len(unplanned)} landed business day(s) wait for their rebuild "
            f"({', '.join(unplanned[:5])}{' …' if len(unplanned) > 5 else ''})"
        )
    coming = set().union(*(run_assets(repository, r) for r in feeding))
    stale, newest = refreshes_behind(context.instance, graph)
    tables = set(stale) | whole_history_after(graph, set(stale) | coming)
    checks = stale_checks(context.instance, check_keys(HISTORY), coming | tables)
    if not tables and not checks:
        return dg.SkipReason("every whole-history table and check is current")
    digest = hashlib.sha256(
        repr(
            (
                sorted(k.to_user_string() for k in tables),
                sorted(k.to_user_string() for k in checks),
                newest.storage_id if newest else 0,
                sorted(r.run_id for r in feeding),
            )
        ).encode()
    ).hexdigest()[:16]
    work = f"refresh:{digest}"
    decision = decide(attempts_of(context.instance, [work])[work])
    if decision.action != "run":
        return dg.SkipReason(f"the refresh of what changed: {decision.reason}")
    return [
        dg.RunRequest(
            run_key=f"{work}:{decision.attempt}",
            asset_selection=sorted(tables),
            asset_check_keys=sorted(checks),
            tags={**trigger("refresh_whole_history"), **attempt_tags(work, decision.attempt)},
        )
    ]
