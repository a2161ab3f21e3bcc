"""Reports follow landings by themselves, once the KPIs are refreshed after them."""

import dagster as dg

from commercepulse.days import contiguous_ranges
from commercepulse.defs.instance_queries import (
    KPI_REVENUE,
    SENSOR_INTERVAL,
    landed_days,
    latest_materialization,
    rebuilt_since,
    refreshes_behind,
)
from commercepulse.defs.landing_contract import trigger
from commercepulse.defs.partitions import day_range_request, valid_days
from commercepulse.defs.reports.jobs import reports_job

REPORTS = "quality_reports"


@dg.sensor(
    name="report_touched_days",
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    job=reports_job,
    description="Once the KPIs are refreshed after a landing, rewrites the daily reports of the "
    "days it touched (its business days and ingestion day), unless reported since.",
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
    refreshed = latest_materialization(context.instance, KPI_REVENUE)
    if (
        refreshed is None
        or refreshed.storage_id < max(todo.values())
        or refreshes_behind(context.instance, context.repository_def.asset_graph)[0]
    ):
        return dg.SkipReason("waiting for the KPI refresh after the latest landing")
    context.update_cursor(str(latest))
    return [
        day_range_request(
            f"reports:{first}:{last}:{latest}", first, last, trigger("report_touched_days")
        )
        for first, last in contiguous_ranges(sorted(todo), bridge=31)
    ]
