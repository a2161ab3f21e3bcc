"""Reads of the Dagster instance that only the refresh sensor makes: which business days wait
for their rebuild, which have one planned, which whole-history tables and checks follow."""

import dagster as dg

from commercepulse.defs.instance_queries import (
    AssetGraphLike,
    Touch,
    done_after,
    latest_materialization,
    touched_days,
    whole_history_node,
)
from commercepulse.defs.landing_contract import LANDED_THROUGH, TRIGGER
from commercepulse.defs.partitions import run_partition_keys

#: The tag of a backfill's runs (the refresh waits for its last run).
BACKFILL_TAG = "dagster/backfill"


def whole_history_after(graph: AssetGraphLike, assets: set[dg.AssetKey]) -> set[dg.AssetKey]:
    """The whole-history tables fed by `assets`: their whole-history children, and the whole-
    history tables fed by those (kpi_restatements after kpi_daily_revenue)."""
    found: set[dg.AssetKey] = set()
    frontier = [k for a in assets if graph.has(a) for k in graph.get(a).child_keys]
    while frontier:
        key = frontier.pop()
        if key in found or not graph.has(key) or not whole_history_node(graph.get(key)):
            continue
        found.add(key)
        frontier.extend(graph.get(key).child_keys)
    return found


def stale_checks(
    instance: dg.DagsterInstance, keys: list[dg.AssetCheckKey], coming: set[dg.AssetKey]
) -> list[dg.AssetCheckKey]:
    """The checks to judge again: their asset is about to change (`coming`), or changed after the
    check last ran (or it never ran)."""
    latest_runs = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    out = []
    for key in keys:
        if key.asset_key in coming:
            out.append(key)
            continue
        changed = latest_materialization(instance, key.asset_key)
        if changed is None:
            continue
        judged = latest_runs.get(key)
        # the evaluation event's own time (the row's creation time is the database's clock)
        when = judged.event.timestamp if judged is not None and judged.event else None
        if when is None or changed.timestamp > when:
            out.append(key)
    return out


def days_awaiting_rebuild(
    instance: dg.DagsterInstance, staged: str, valid, after: int
) -> dict[str, Touch]:
    """The business days (valid partitions, `valid(days)`) touched by a landing stored after
    `after` whose `staged` partition has not been rebuilt since (by a run started after it): {day:
    (storage id, time) of the latest landing that touched it}. Judged day by day: a staging of
    other days after the landing (a rebuild already running when it landed) does not count."""
    business, _, _ = touched_days(instance, after)
    todo = {day: business[day] for day in valid(sorted(business))}
    done = done_after(instance, [dg.AssetKey(staged)], todo)
    return {day: touch for day, touch in todo.items() if day not in done}


#: Recent planned rebuilds read per refresh tick (a day's rebuild is planned within seconds of
#: its landing, so the newest few hundred always hold it).
PLANNED_LOOKBACK = 200


def unplanned_days(
    instance: dg.DagsterInstance,
    waiting: dict[str, tuple[int, float]],
    in_flight: list[dg.DagsterRun],
    planner: str,
) -> list[str]:
    """The `waiting` days no rebuild has been planned for since their landing: no run of the
    `planner` sensor (queued, running or ended) planned from that landing on (its
    `LANDED_THROUGH` tag), and no other in-flight run over the day created after it."""
    if not waiting:
        return []
    through: dict[str, int] = {}
    for record in instance.get_run_records(
        filters=dg.RunsFilter(tags={TRIGGER: planner}), limit=PLANNED_LOOKBACK
    ):
        mark = int(record.dagster_run.tags.get(LANDED_THROUGH, 0))
        for day in run_partition_keys(record.dagster_run):
            through[day] = max(through.get(day, 0), mark)
    created: dict[str, float] = {}
    others = [r.run_id for r in in_flight if LANDED_THROUGH not in r.tags]
    if others:
        for record in instance.get_run_records(filters=dg.RunsFilter(run_ids=others)):
            for day in run_partition_keys(record.dagster_run):
                when = record.create_timestamp.timestamp()
                created[day] = max(created.get(day, 0.0), when)
    return sorted(
        day
        for day, (storage_id, landed) in waiting.items()
        if through.get(day, 0) < storage_id and created.get(day, 0.0) <= landed
    )
