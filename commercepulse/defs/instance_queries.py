"""Reads of the Dagster instance that sensors and checks share: paged materialization records,
the latest materialization of an asset (partition), the landings and what they touched, and
which whole-history tables trail their inputs. One implementation of each lookup."""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from commercepulse.defs.landing_contract import LANDING_ASSETS, business_days_of
from commercepulse.defs.table_assets import WHOLE_HISTORY

PAGE = 1000
#: Seconds between a sensor's evaluations: a new day file reaches the KPIs within a minute.
SENSOR_INTERVAL = 5
KPI_REVENUE = "kpi_daily_revenue"  # what the reports wait for
#: The asset graph of a code location (a sensor's `context.repository_def.asset_graph`, or
#: `Definitions.resolve_asset_graph()`): `get_all_asset_keys`, `get(key)`, `has(key)`.
AssetGraphLike = Any


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


def refreshes_behind(
    instance: dg.DagsterInstance, graph: "AssetGraphLike | None"
) -> tuple[list[dg.AssetKey], dg.EventLogRecord | None]:
    """The whole-history tables (KPIs, Gold, dim_date) some partitioned input of which was
    materialized after the run that last refreshed them had started (that refresh may not have
    read it), and the newest such input materialization; ([], None) when every one is current.
    Each table is judged on its own inputs: a refresh of some KPIs never hides another's."""
    if graph is None:
        return [], None
    latest: dict[dg.AssetKey, dg.EventLogRecord | None] = {}

    def newest(key: dg.AssetKey) -> dg.EventLogRecord | None:
        if key not in latest:
            latest[key] = latest_materialization(instance, key)
        return latest[key]

    behind, newest_input = [], None
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        if any(node.tags.get(tag) != value for tag, value in WHOLE_HISTORY.items()):
            continue
        inputs = [
            record
            for parent in node.parent_keys
            if graph.has(parent) and graph.get(parent).is_partitioned
            for record in [newest(parent)]
            if record is not None
        ]
        if not inputs:
            continue
        own = newest(key)
        if own is None:
            started = 0.0
        else:
            run = instance.get_run_record_by_id(own.run_id) if own.run_id else None
            started = run.start_time if run is not None and run.start_time else own.timestamp
        late = [r for r in inputs if r.timestamp > started]
        if late:
            behind.append(key)
            top = max(late, key=lambda r: r.storage_id)
            if newest_input is None or top.storage_id > newest_input.storage_id:
                newest_input = top
    return behind, newest_input
