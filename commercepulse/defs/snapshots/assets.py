"""The read snapshot: published last in every refresh that changes a whole-history table, so
analysts' tools read complete refreshes while runs go on (`warehouse/snapshots.py`)."""

from datetime import UTC, datetime

import dagster as dg

from commercepulse.defs.landing_contract import LANDING_ASSETS
from commercepulse.defs.partitions import WAREHOUSE_KIND
from commercepulse.defs.table_assets import WHOLE_HISTORY
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.gold_sql import GOLD_STATEMENTS
from commercepulse.warehouse.kpi_catalogue import KPI_CATALOGUE
from commercepulse.warehouse.snapshots import HELD, snapshot_info

SNAPSHOT_GROUP = "snapshots"
#: Every whole-history table: the snapshot runs after whichever of them a refresh recomputes.
PUBLISHED_AFTER = sorted(
    {*KPI_CATALOGUE, *GOLD_STATEMENTS, "dim_date", "kpi_restatements", "kpi_vendor_lateness"}
)


def latest_landing(instance: dg.DagsterInstance, before: float) -> tuple[str, datetime, str] | None:
    """(run, time, partition) of the newest landing recorded before `before` (a timestamp)."""
    found = [
        record
        for asset in LANDING_ASSETS
        for record in instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), before_timestamp=before), limit=1
        ).records
    ]
    if not found:
        return None
    newest = max(found, key=lambda r: r.storage_id)
    return (
        newest.run_id,
        datetime.fromtimestamp(newest.timestamp, UTC),
        newest.partition_key or "the dumps",
    )


@dg.asset(
    group_name=SNAPSHOT_GROUP,
    kinds={WAREHOUSE_KIND},
    deps=PUBLISHED_AFTER,
    tags=WHOLE_HISTORY,
    description="The warehouse as analysts read it: published after each refresh as a read-only "
    "snapshot (DuckDB: <snapshots>/latest.duckdb; BigQuery: the dataset), described by its "
    "snapshot_info row. Readers never block a run and see only complete refreshes.",
)
def warehouse_snapshot(
    context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]
) -> dg.MaterializeResult:
    record = context.instance.get_run_record_by_id(context.run.run_id)
    began = record.start_time if record and record.start_time else datetime.now(UTC).timestamp()
    landing = latest_landing(context.instance, began)
    info = snapshot_info(warehouse.query(HELD), context.run.run_id, datetime.now(UTC), landing)
    where = warehouse.publish_snapshot(info)
    row = info.iloc[0]
    return dg.MaterializeResult(
        metadata={
            "snapshot_id": str(row["snapshot_id"]),
            "location": where,
            "latest_landing": f"{landing[2]} (run {landing[0][:8]}, {landing[1]:%Y-%m-%d %H:%M:%S} UTC)"
            if landing
            else "none",
            "last_business_day": str(row["last_business_day"])[:10],
            "read_it": 'commercepulse query "SELECT * FROM snapshot_info" · '
            "duckdb -readonly <snapshots>/latest.duckdb (docs/analysts.md)",
        }
    )
