"""Platform sources (SPEC §9): Bronze landing, Silver (by ingestion day, incremental by key),
Gold tables, and the checks beside them."""

import time

import dagster as dg

from commercepulse.defs.asset_checks import asset_checks
from commercepulse.defs.metadata import row_count, table_metadata_spec
from commercepulse.defs.partitions import INGESTION_DAILY, SINGLE_RUN, WAREHOUSE_KIND, window_days
from commercepulse.defs.resources import MongoResource, ProjectSettings
from commercepulse.defs.retries import mongo_retries
from commercepulse.defs.table_assets import upstream_deps, whole_asset
from commercepulse.lib.days import days_between
from commercepulse.platform.bronze import ingest_platform, platform_files
from commercepulse.platform.silver import SILVER_OF, rebuild_silver
from commercepulse.staging.schemas import SchemaViolation
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.gold_sql import GOLD_STATEMENTS
from commercepulse.warehouse.schema import SILVER

BRONZE_GROUP, SILVER_GROUP, GOLD_GROUP = "platform_bronze", "platform_silver", "platform_gold"


@dg.asset(
    group_name=BRONZE_GROUP,
    kinds={"mongodb"},
    partitions_def=INGESTION_DAILY,
    backfill_policy=SINGLE_RUN,
)
def platform_raw(
    context: dg.AssetExecutionContext, mongo: MongoResource, settings: ProjectSettings
) -> dg.MaterializeResult:
    """Platform source files of an ingestion day (DATA_DIR/platform/<source>/D.jsonl) landed verbatim in
    platform_raw with source_system and ingestion_time."""
    start, end = window_days(context)
    root = settings.data_path / "platform"
    days = days_between(start, end)
    if not root.is_dir() or not platform_files(root, days):
        raise dg.Failure(
            description=f"No platform files for {start}..{end} under {root}/<source>/ "
            f"(generate with `commercepulse generate platform`)."
        )
    with mongo_retries(context):
        stats, per_source = ingest_platform(mongo.db(), root, days)
    context.log.info(f"platform {start}..{end}: {stats.summary()}")
    return dg.MaterializeResult(
        metadata={
            "files": stats.files,
            "lines_read": stats.lines_read,
            "landed": stats.landed,
            "already_landed": stats.duplicates,
            "quarantined": stats.quarantined,
            "lines_per_source": per_source,
        }
    )


SILVER_SPECS = [
    dg.AssetSpec(
        name,
        group_name=SILVER_GROUP,
        kinds={"pandas", WAREHOUSE_KIND},
        deps=[platform_raw],
        description=SILVER[name].description,
        metadata=table_metadata_spec(name),
    )
    for name in SILVER_OF.values()
]


@dg.multi_asset(
    specs=SILVER_SPECS,
    partitions_def=INGESTION_DAILY,
    backfill_policy=SINGLE_RUN,
    can_subset=False,
    name="platform_silver",
)
def platform_silver(
    context: dg.AssetExecutionContext, mongo: MongoResource, warehouse: dg.ResourceParam[Warehouse]
):
    """Rebuild the Silver rows of every key the window's Bronze records touched, in one transaction."""
    start, end = window_days(context)
    t0 = time.perf_counter()
    try:
        with mongo_retries(context):
            batches = rebuild_silver(mongo.db(), warehouse, start, end)
    except SchemaViolation as exc:
        raise dg.Failure(description=str(exc)) from exc
    seconds = round(time.perf_counter() - t0, 3)
    for table, _, keys, frame in batches:
        yield dg.MaterializeResult(
            asset_key=table,
            metadata={
                "keys_touched": len(keys),
                "rows_rebuilt": len(frame),
                "seconds": seconds,
                **row_count(table, warehouse),
            },
        )


GOLD_ASSETS = {
    name: whole_asset(name, statements, upstream_deps(name), GOLD_GROUP)
    for name, statements in GOLD_STATEMENTS.items()
}


PLATFORM_CHECKS = asset_checks(
    "silver_behaviour_events",
    "silver_orders",
    "silver_users",
    "silver_products",
    GOLD_ASSETS["fact_platform_orders"],
    GOLD_ASSETS["dim_product_history"],
)
