"""Jobs, the daily schedule and late-data reconciliation.

After any landing (a live ingestion day or the bootstrap dumps), the business days of the
newly landed events, and only those, are re-materialized through the staging, fact and dim
assets; consecutive days go as one single-run backfill range. Whole-history KPI tables then
refresh through their automation condition.
"""

from datetime import date, timedelta

import dagster as dg

from commercepulse.partitions import DAILY

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"

business_day_job = dg.define_asset_job(
    "business_day_job", selection=dg.AssetSelection.groups("staging", "warehouse") - dg.AssetSelection.assets("dim_date"),
    partitions_def=DAILY, description="Staging, facts and dims for business-day partitions.")
ingest_job = dg.define_asset_job(
    "ingest_job", selection=dg.AssetSelection.assets("events_raw", "kpi_late_arrivals"), partitions_def=DAILY,
    description="Land one live ingestion day and its late/duplicate figures.")
daily_ingest_schedule = dg.build_schedule_from_partitioned_job(ingest_job, hour_of_day=1, minute_of_hour=0)


def contiguous_ranges(days: list[str]) -> list[tuple[str, str]]:
    """Sorted ISO days -> inclusive (first, last) runs of consecutive days."""
    ranges: list[tuple[str, str]] = []
    for day in sorted(set(days)):
        if ranges and date.fromisoformat(ranges[-1][1]) + timedelta(days=1) == date.fromisoformat(day):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def reconcile_requests(days: list[str], run_key_prefix: str) -> list[dg.RunRequest]:
    valid = set(DAILY.get_partition_keys())
    requests = []
    for first, last in contiguous_ranges([d for d in days if d in valid]):
        key = f"{run_key_prefix}:{first}:{last}"
        if first == last:
            requests.append(dg.RunRequest(run_key=key, partition_key=first))
        else:
            requests.append(dg.RunRequest(run_key=key, tags={RANGE_START: first, RANGE_END: last}))
    return requests


def _business_days(entry: dg.EventLogEntry) -> list[str]:
    materialization = entry.asset_materialization
    if materialization is None or "business_days" not in materialization.metadata:
        return []
    return list(materialization.metadata["business_days"].value or [])


def _reconcile_sensor(asset: str) -> dg.SensorDefinition:
    @dg.asset_sensor(asset_key=dg.AssetKey(asset), job=business_day_job, name=f"reconcile_after_{asset}",
                     default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=30,
                     description=f"Re-materialize the business days that a {asset} landing touched.")
    def _sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
        return reconcile_requests(_business_days(asset_event), f"{asset}:{asset_event.run_id}")
    return _sensor


RECONCILE_SENSORS = [_reconcile_sensor("events_raw"), _reconcile_sensor("bootstrap_events")]
