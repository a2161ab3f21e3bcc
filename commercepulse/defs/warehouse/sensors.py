"""Touched business days are rebuilt by themselves: a landing's business days, late data included.

Level-triggered: a day a landing touched is due until every asset of `business_day_job` holds a
materialization of it from a run started after that landing (the sensor's run, Dagster's retry,
a re-execution from the UI). The cursor is a low-water mark: the storage id below which every
landing's days are rebuilt, so a day whose run failed or was killed is read again next tick and
gets another attempt (with back-off, see `defs/work.py`), never forgotten.
"""

import dagster as dg

from commercepulse.defs.instance_queries import (
    SENSOR_INTERVAL,
    done_after,
    low_water,
    touched_days,
)
from commercepulse.defs.landing_contract import RECONCILE
from commercepulse.defs.partitions import valid_days
from commercepulse.defs.warehouse.jobs import business_day_job
from commercepulse.defs.work import day_attempts


def job_assets(repository: dg.RepositoryDefinition, job: str) -> list[dg.AssetKey]:
    """The partitioned assets a job materializes: all must be rebuilt for a day to count."""
    graph = repository.asset_graph
    return sorted(
        key
        for key in repository.get_job(job).asset_layer.selected_asset_keys
        if graph.has(key) and graph.get(key).is_partitioned
    )


@dg.sensor(
    name=RECONCILE,
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    job=business_day_job,
    description="Rebuilds exactly the business days a landing touched (late data included) until "
    "a rebuild after it succeeds; consecutive days go as one range run, retried with back-off.",
)
def reconcile_business_days(context: dg.SensorEvaluationContext):
    instance = context.instance
    business, _, latest = touched_days(instance, int(context.cursor or 0))
    touched = {day: business[day] for day in valid_days(sorted(business))}
    done = done_after(instance, job_assets(context.repository_def, business_day_job.name), touched)
    due = {day: touch for day, touch in touched.items() if day not in done}
    requests, waiting = day_attempts(instance, due, RECONCILE, "reconcile", latest)
    return dg.SensorResult(
        run_requests=requests,
        cursor=str(low_water(due, latest)),
        skip_reason=None
        if requests
        else ("; ".join(waiting[:5]) or "every landed business day is rebuilt"),
    )
