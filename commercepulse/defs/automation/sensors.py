"""The one update the automation condition misses: facts rebuilt while a KPI refresh was already
running (eager() counts that refresh as handling them)."""

import time

import dagster as dg

from commercepulse.defs.instance_queries import SENSOR_INTERVAL, refreshes_behind
from commercepulse.defs.landing_contract import trigger

#: Seconds facts may be newer than the KPIs before this sensor steps in (the automation sensor
#: normally requests the refresh within one tick).
GRACE_SECONDS = 15
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dg.sensor(
    name="refresh_missed_updates",
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    job_name="refresh_job",
    description="Refreshes the whole-history tables whose inputs were rebuilt after their last refresh "
    "had started (an update the automation condition counts as handled), those only; waits "
    "GRACE_SECONDS and for running work.",
)
def refresh_missed_updates(context: dg.SensorEvaluationContext):
    stale, behind = refreshes_behind(context.instance, context.repository_def.asset_graph)
    if behind is None:
        return dg.SkipReason("every whole-history table is newer than its inputs")
    if context.instance.get_runs_count(dg.RunsFilter(statuses=IN_FLIGHT)):
        return dg.SkipReason(
            "runs are in flight: the automation condition may still refresh the KPIs"
        )
    if time.time() - behind.timestamp < GRACE_SECONDS:
        return dg.SkipReason("facts newer than the KPIs: leaving the automation condition its turn")
    return [
        dg.RunRequest(
            run_key=f"refresh-missed:{behind.storage_id}",
            asset_selection=stale,
            tags=trigger("refresh_missed_updates"),
        )
    ]
