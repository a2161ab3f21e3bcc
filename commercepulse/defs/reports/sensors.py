"""Reports follow landings by themselves, once the KPIs are refreshed after them.

Reports come last: while a landing, rebuild, feed or refresh run is queued or running, the
sensor waits (their figures would land after the report). Level-triggered like the rebuilds: a day's report is due until `quality_reports` of that day is
materialized by a run started after the latest touch of the day: a landing (its business days and
its ingestion day) or a new materialization of the day's ingestion figures (a re-execution from
the UI that finished a landing's feed figures counts). The cursor is a low-water mark.
"""

import dagster as dg

from commercepulse.defs.instance_queries import (
    KPI_REVENUE,
    SENSOR_INTERVAL,
    done_after,
    in_flight_runs,
    latest_materialization,
    low_water,
    refreshes_behind,
    touched_days,
)
from commercepulse.defs.job_names import (
    BOOTSTRAP_JOB,
    BUSINESS_DAY_JOB,
    FEEDS_JOB,
    INGEST_JOB,
    PLATFORM_JOB,
    REFRESH_JOB,
)
from commercepulse.defs.partitions import valid_days
from commercepulse.defs.reports.jobs import reports_job
from commercepulse.defs.work import day_attempts

REPORTS = "quality_reports"
#: Runs that change what a report shows: a report waits while one is queued or running (a
#: refresh queued behind a rebuild would otherwise run after the report and leave it stale).
FIGURES_JOBS = {INGEST_JOB, BOOTSTRAP_JOB, PLATFORM_JOB, BUSINESS_DAY_JOB, FEEDS_JOB, REFRESH_JOB}
PLANNER = "report_touched_days"
#: A day's figures the report shows (an ingestion day's feed figures, a business day's
#: acknowledged restatement or annotation): a new materialization rewrites its report.
INGESTION_FIGURES = (
    "vendor_feed_daily",
    "kpi_late_arrivals",
    "revenue_acknowledgements",
    "day_annotations",
)


@dg.sensor(
    name=PLANNER,
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    job=reports_job,
    description="Once the KPIs are refreshed after a landing, rewrites the daily reports of the "
    "days it touched (its business days and ingestion day) until a report after it succeeds.",
)
def report_touched_days(context: dg.SensorEvaluationContext):
    instance = context.instance
    business, ingestion, latest = touched_days(
        instance, int(context.cursor or 0), INGESTION_FIGURES
    )
    days = {
        day: max(business.get(day, (0, 0.0)), ingestion.get(day, (0, 0.0)))
        for day in set(business) | set(ingestion)
    }
    touched = {day: days[day] for day in valid_days(sorted(days))}
    done = done_after(instance, [dg.AssetKey(REPORTS)], touched)
    due = {day: touch for day, touch in touched.items() if day not in done}
    cursor = str(low_water(due, latest))
    if not due:
        return dg.SensorResult(cursor=cursor, skip_reason="no landed day is waiting for its report")
    upstream = sorted({r.job_name for r in in_flight_runs(instance)} & FIGURES_JOBS)
    if upstream:  # a report written now would be overwritten by their figures: it comes last
        return dg.SensorResult(
            cursor=cursor,
            skip_reason=f"waiting for the {', '.join(upstream)} run(s) in flight: reports come last",
        )
    landed = max((business[d][0] for d in due if d in business), default=0)
    refreshed = latest_materialization(instance, KPI_REVENUE)
    if (refreshed is None and landed) or (refreshed and refreshed.storage_id < landed):
        return dg.SensorResult(
            cursor=cursor, skip_reason="waiting for the KPI refresh after the latest landing"
        )
    if refreshes_behind(instance, context.repository_def.asset_graph)[0]:
        return dg.SensorResult(cursor=cursor, skip_reason="waiting for the KPI refresh")
    requests, waiting = day_attempts(instance, due, PLANNER, "reports", latest, bridge=31)
    return dg.SensorResult(
        run_requests=requests,
        cursor=cursor,
        skip_reason=None if requests else "; ".join(waiting[:5]),
    )
