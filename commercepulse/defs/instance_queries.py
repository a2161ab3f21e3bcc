"""Reads of the Dagster instance that sensors and checks share: paged materialization records,
the latest materialization of an asset (partition), the landings and what they touched, and
whether the KPIs trail the facts. One implementation of each lookup."""

from collections.abc import Iterator

import dagster as dg

from commercepulse.defs.landing_contract import LANDING_ASSETS, business_days_of

PAGE = 1000
#: Seconds between a sensor's evaluations: a new day file reaches the KPIs within a minute.
SENSOR_INTERVAL = 5
FACTS = "fact_orders"  # business_day_job rebuilds every fact together: one stands for all
KPI_REVENUE = "kpi_daily_revenue"  # the refresh rebuilds every KPI together: one stands for all


def materialization_records(
    instance: dg.DagsterInstance, records_filter: dg.AssetRecordsFilter, ascending: bool = True
) -> Iterator[dg.EventLogRecord]:
    """Every materialization record matching the filter, page by page."""
    cursor = None
    while True:
        result = instance.fetch_materializations(
            records_filter, limit=PAGE, cursor=cursor, ascending=ascending
        )
        yield from result.records
        if not result.has_more:
            return
        cursor = result.cursor


def latest_materialization(
    instance: dg.DagsterInstance, asset: str | dg.AssetKey, day: str | None = None
) -> dg.EventLogRecord | None:
    key = asset if isinstance(asset, dg.AssetKey) else dg.AssetKey(asset)
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day] if day else None), limit=1
    ).records
    return records[0] if records else None


def landings_after(instance: dg.DagsterInstance, after: int) -> Iterator[dg.EventLogRecord]:
    """Materialization records of the landing assets stored after `after`, oldest first per asset."""
    for asset in LANDING_ASSETS:
        yield from materialization_records(
            instance, dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), after_storage_id=after)
        )


def landed_days(
    instance: dg.DagsterInstance, after: int
) -> tuple[dict[str, int], dict[str, int], int]:
    """For landings after `after`: {business day: storage id of the latest landing that touched it},
    {ingestion day: storage id of its latest landing}, and the latest storage id seen."""
    business: dict[str, int] = {}
    ingestion: dict[str, int] = {}
    latest = after
    for record in landings_after(instance, after):
        latest = max(latest, record.storage_id)
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        for day in business_days_of(metadata):
            business[day] = max(business.get(day, 0), record.storage_id)
        if record.partition_key:
            ingestion[record.partition_key] = max(
                ingestion.get(record.partition_key, 0), record.storage_id
            )
    return business, ingestion, latest


def rebuilt_since(instance: dg.DagsterInstance, days: dict[str, int], asset: str) -> set[str]:
    """The days whose `asset` partition was materialized after the landing that touched them."""
    if not days:
        return set()
    records = materialization_records(
        instance,
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(asset),
            asset_partitions=sorted(days),
            after_storage_id=min(days.values()),
        ),
    )
    return {
        r.partition_key
        for r in records
        if r.partition_key in days and r.storage_id > days[r.partition_key]
    }


def kpis_behind_facts(instance: dg.DagsterInstance) -> dg.EventLogRecord | None:
    """The latest facts materialization when it is newer than the start of the run that last
    refreshed the KPIs (that refresh may not have read it); None when the KPIs are up to date."""
    facts = latest_materialization(instance, FACTS)
    if facts is None:
        return None
    kpis = latest_materialization(instance, KPI_REVENUE)
    if kpis is None:
        return facts
    run = instance.get_run_record_by_id(kpis.run_id) if kpis.run_id else None
    started = run.start_time if run is not None and run.start_time else kpis.timestamp
    return facts if facts.timestamp > started else None
