"""Asset factories for warehouse tables: a business-day window rebuilt by SQL, or a whole-history
table recomputed by SQL when its inputs change (shared by the warehouse, KPI and Gold domains)."""

from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from commercepulse.defs.metadata import latest_rows, row_count, table_metadata_spec
from commercepulse.defs.partitions import DAILY, SINGLE_RUN, WAREHOUSE_KIND, window_days
from commercepulse.defs.retries import user_errors
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.tables import ALL_TABLES

#: Tag of the whole-history tables: `refresh_job` selects them, the automation sensor refreshes them.
WHOLE_HISTORY = {"commercepulse/scope": "whole_history"}
#: Refresh when an upstream partition changed (late data included), once the blocking checks of
#: the changed inputs have passed. Upstream partitions without data are normal here (most days of
#: a calendar have none), so a missing one does not hold the refresh back.
REFRESH = (
    dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
    & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager_after_blocking_checks")


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
        params = {"start": start, "end": end, "run_id": context.run.run_id}
        with user_errors():
            warehouse.execute([(sql, params) for sql in statements])
            return dg.MaterializeResult(
                metadata=row_count(name, warehouse) | {"window": f"{start}..{end}"}
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
        automation_condition=REFRESH,
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
            preview = latest_rows(name, warehouse) if name.startswith("kpi_") else {}
            return dg.MaterializeResult(metadata=row_count(name, warehouse) | preview)

    return _asset
