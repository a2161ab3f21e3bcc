"""Asset factories for warehouse tables: a business-day window rebuilt by SQL, or a whole-history
table recomputed by SQL when its inputs change (shared by the warehouse, KPI and Gold domains)."""

from collections.abc import Sequence
from datetime import UTC, date, datetime

import dagster as dg

from commercepulse.defs.metadata import latest_rows, row_count, table_metadata_spec
from commercepulse.defs.partitions import DAILY, SINGLE_RUN, WAREHOUSE_KIND, window_days
from commercepulse.defs.retries import user_errors
from commercepulse.lib.days import day_spans
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.kpi_history import record_versions
from commercepulse.warehouse.schema import ALL_TABLES, EVENT_TABLES, KPIS

#: Tag of the whole-history tables: `refresh_job` selects them; the `refresh_whole_history` sensor
#: refreshes those whose inputs changed, in one run after the work that changes them.
WHOLE_HISTORY = {"commercepulse/scope": "whole_history"}
#: Dependencies whose partitions do not pair day for day: silver_users is partitioned by
#: ingestion day, and any of its days may hold a user of a customer.
PARTITION_MAPPINGS = {("dim_customer", "silver_users"): dg.AllPartitionMapping()}


def upstream_deps(table: str) -> list[str | dg.AssetDep]:
    """The asset dependencies of a table: its spec's upstream tables (`warehouse/schema/`)."""
    return [
        dg.AssetDep(up, partition_mapping=PARTITION_MAPPINGS[(table, up)])
        if (table, up) in PARTITION_MAPPINGS
        else up
        for up in ALL_TABLES[table].upstream
    ]


STAGED_IN_WINDOW = (
    "SELECT "
    + " + ".join(
        f"(SELECT count(*) FROM {t} WHERE event_date >= $start AND event_date < $end)"
        for t in EVENT_TABLES
    )
    + " AS n"
)


def window_statements(
    statements: Sequence[str], start: date, end: date, run_id: str, parts: int = 1
) -> list[tuple[str, dict]]:
    """The window's statements, those that read the window once per part (`parts` of them; each
    replaces or merges only what its part touches, recomputed from all staging: the same end
    state), then the others once (e.g. a whole-table link). A statement that reads `$part` takes
    the whole window each time and a bucket of its keys (`fact_orders`: no row is merged twice in
    one transaction); the others take consecutive sub-windows of its days."""
    keyed = [sql for sql in statements if "$part" in sql]
    windowed = [sql for sql in statements if "$start" in sql and "$part" not in sql]
    once = [sql for sql in statements if "$start" not in sql]
    parts = max(parts, 1)
    out: list[tuple[str, dict]] = [
        (sql, {"start": start, "end": end, "run_id": run_id, "part": part, "parts": parts})
        for part in range(parts)
        for sql in keyed
    ]
    for first, last in day_spans(start, end, max(1, -(-(end - start).days // parts))):
        params = {"start": first, "end": last, "run_id": run_id}
        out += [(sql, params) for sql in windowed]
    return out + [(sql, {"run_id": run_id}) for sql in once]


def run_plan(warehouse: Warehouse, plan: Sequence[tuple[str, dict]]) -> None:
    """A window's plan: its bucket MERGEs (first in it) may commit one by one
    (`Warehouse.execute_each`), the other statements run in one transaction."""
    if merges := [step for step in plan if "part" in step[1]]:
        warehouse.execute_each(merges)
    if rest := [step for step in plan if "part" not in step[1]]:
        warehouse.execute(rest)


def window_asset(
    name: str, statements: Sequence[str], deps: Sequence, group: str
) -> dg.AssetsDefinition:
    """A business-day partitioned table: each run replaces its window with `statements`."""

    @dg.asset(
        name=name,
        group_name=group,
        kinds={WAREHOUSE_KIND},
        partitions_def=DAILY,
        backfill_policy=SINGLE_RUN,
        deps=deps,
        description=ALL_TABLES[name].description,
        metadata=table_metadata_spec(name),
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]
    ) -> dg.MaterializeResult:
        start, end = window_days(context)
        with user_errors():
            staged = int(
                warehouse.query(STAGED_IN_WINDOW, {"start": start, "end": end})["n"].iat[0]
            )
            parts = -(-staged // warehouse.statement_events())
            run_plan(
                warehouse, window_statements(statements, start, end, context.run.run_id, parts)
            )
            return dg.MaterializeResult(
                metadata=row_count(name, warehouse)
                | {"window": f"{start}..{end}", "window_parts": parts}
            )

    return _asset


def whole_asset(
    name: str, statements: Sequence[str], deps: Sequence, group: str, metadata: dict | None = None
) -> dg.AssetsDefinition:
    """A whole-history table recomputed by `statements` (KPIs, Gold); a KPI's materialization shows
    its latest days' values."""

    @dg.asset(
        name=name,
        group_name=group,
        kinds={WAREHOUSE_KIND},
        deps=deps,
        tags=WHOLE_HISTORY,
        description=ALL_TABLES[name].description,
        metadata=table_metadata_spec(name) | (metadata or {}),
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]
    ) -> dg.MaterializeResult:
        params = {"run_id": context.run.run_id, "reported_at": datetime.now(UTC)}
        with user_errors():
            warehouse.execute([(sql, params) for sql in statements])
            extra = {}
            if name in KPIS:
                extra = latest_rows(name, warehouse) | {
                    "versions_recorded": record_versions(
                        warehouse, name, context.run.run_id, datetime.now(UTC)
                    )
                }
            return dg.MaterializeResult(metadata=row_count(name, warehouse) | extra)

    return _asset
