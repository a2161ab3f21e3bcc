"""Reads of the Dagster instance that sensors and checks share: paged materialization records,
the latest materialization of an asset (partition), the landings and what they touched, and
which whole-history tables trail their inputs. One implementation of each lookup."""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from commercepulse.defs.landing_contract import (
    LANDING_ASSETS,
    business_days_of,
)
from commercepulse.defs.table_assets import WHOLE_HISTORY

PAGE = 1000
#: A sensor's minimum seconds between evaluations. The daemon's sensor loop itself runs every 5 s
#: and skips a sensor whose interval has not quite passed, so 5 here meant every other loop
#: (~10 s); 1 means every loop: each hop of a new day waits ~2.5 s, not ~5.
SENSOR_INTERVAL = 1
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


_STARTED: dict[str, float] = {}


def run_started(instance: dg.DagsterInstance, record: dg.EventLogRecord) -> float:
    """When the run that wrote `record` started (what it read is at least that recent); the
    record's own time for a write without a run."""
    run_id = record.run_id
    if not run_id:
        return record.timestamp
    if run_id not in _STARTED:
        run = instance.get_run_record_by_id(run_id)
        if run is None or not run.start_time:
            return record.timestamp
        if len(_STARTED) > 10_000:
            _STARTED.clear()
        _STARTED[run_id] = run.start_time
    return _STARTED[run_id]


def landings_after(instance: dg.DagsterInstance, after: int) -> Iterator[dg.EventLogRecord]:
    """Materialization records of the landing assets stored after `after`, oldest first per asset."""
    for asset in LANDING_ASSETS:
        yield from materialization_records(
            instance, dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), after_storage_id=after)
        )


#: A day touched: (storage id, time) of the latest record that touched it.
Touch = tuple[int, float]


def _touch(found: dict[str, Touch], day: str, record: dg.EventLogRecord) -> None:
    if record.storage_id > found.get(day, (0, 0.0))[0]:
        found[day] = (record.storage_id, record.timestamp)


def touched_days(
    instance: dg.DagsterInstance, after: int, partitioned: tuple[str, ...] = ()
) -> tuple[dict[str, Touch], dict[str, Touch], int]:
    """For the landings stored after `after`: {business day: its latest touch} and {ingestion day:
    its latest touch}, the latter also touched by materializations of the `partitioned` assets
    (a landing's per-day figures, re-executed on their own); and the latest storage id seen."""
    business: dict[str, Touch] = {}
    ingestion: dict[str, Touch] = {}
    latest = after
    for record in landings_after(instance, after):
        latest = max(latest, record.storage_id)
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        for day in business_days_of(metadata):
            _touch(business, day, record)
        if record.partition_key:
            _touch(ingestion, record.partition_key, record)
    for asset in partitioned:
        for record in materialization_records(
            instance, dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), after_storage_id=after)
        ):
            latest = max(latest, record.storage_id)
            if record.partition_key:
                _touch(ingestion, record.partition_key, record)
    return business, ingestion, latest


def done_after(
    instance: dg.DagsterInstance, assets: list[dg.AssetKey], touched: dict[str, Touch]
) -> set[str]:
    """The touched days whose partition of every one of `assets` was materialized by a run that
    started after the touch: what that run read includes it. A retry, a re-execution from the UI
    or a hand-launched materialization counts like the sensor's own run."""
    done: set[str] | None = None
    if not touched or not assets:
        return set()
    for asset in assets:
        records = materialization_records(
            instance,
            dg.AssetRecordsFilter(
                asset_key=asset,
                asset_partitions=sorted(touched),
                after_storage_id=min(sid for sid, _ in touched.values()),
            ),
        )
        ok = {
            r.partition_key
            for r in records
            if r.partition_key in touched
            and r.storage_id > touched[r.partition_key][0]
            and run_started(instance, r) >= touched[r.partition_key][1]
        }
        done = ok if done is None else done & ok
        if not done:
            return set()
    return done or set()


def low_water(due: dict[str, Touch], latest: int) -> int:
    """The storage id below which every touch is done: a level-triggered sensor's cursor (the
    next tick reads touches after it, so what is still due is read again)."""
    return min(sid for sid, _ in due.values()) - 1 if due else latest


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
        if not whole_history_node(node):
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


#: Statuses of a run not finished yet (queued, starting or running).
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def in_flight_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT)))


def whole_history_node(node) -> bool:
    return all(node.tags.get(tag) == value for tag, value in WHOLE_HISTORY.items())


def run_assets(repository: dg.RepositoryDefinition, run: dg.DagsterRun) -> set[dg.AssetKey]:
    """The assets a run materializes: its selection, else its job's assets."""
    if run.asset_selection:
        return set(run.asset_selection)
    if repository.has_job(run.job_name):
        return set(repository.get_job(run.job_name).asset_layer.selected_asset_keys)
    return set()
