"""Touched business days are rebuilt by themselves: a landing's business days, late data included."""

import dagster as dg

from commercepulse.days import contiguous_ranges
from commercepulse.defs.instance_queries import SENSOR_INTERVAL, landed_days, rebuilt_since
from commercepulse.defs.landing_contract import LANDED_THROUGH, RECONCILE, trigger
from commercepulse.defs.partitions import day_range_request, valid_days
from commercepulse.defs.warehouse.jobs import business_day_job

STAGED = "stg_orders"  # staging materializes its seven frames together: one stands for all


@dg.sensor(
    name=RECONCILE,
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    job=business_day_job,
    description="Rebuilds exactly the business days a landing touched (late data included), "
    "unless they were rebuilt after it; consecutive days go as one range run.",
)
def reconcile_business_days(context: dg.SensorEvaluationContext):
    after = int(context.cursor or 0)
    days, _, latest = landed_days(context.instance, after)
    todo = valid_days(sorted(set(days) - rebuilt_since(context.instance, days, STAGED)))
    for first, last in contiguous_ranges(todo):
        run_key = (
            f"reconcile:{first}:{latest}" if first == last else f"reconcile:{first}:{last}:{latest}"
        )
        yield day_range_request(
            run_key, first, last, {**trigger(RECONCILE), LANDED_THROUGH: str(latest)}
        )
    context.update_cursor(str(latest))
