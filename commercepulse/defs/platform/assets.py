"""Platform sources (SPEC §9): Bronze landing, Silver (by ingestion day, incremental by key),
Gold tables, and the checks beside them."""

import time

import dagster as dg

from commercepulse.days import days_between
from commercepulse.defs.checks import PER_DAY, rule_check
from commercepulse.defs.deployment import INGESTION_DAILY, SINGLE_RUN, WAREHOUSE_KIND, window_days
from commercepulse.defs.metadata import row_count, table_metadata_spec
from commercepulse.defs.resources import MongoResource, PlatformSettings
from commercepulse.defs.retries import mongo_retries
from commercepulse.defs.tables import whole_asset
from commercepulse.platform import quality
from commercepulse.platform.bronze import ingest_platform, platform_files
from commercepulse.platform.silver import SILVER_OF, rebuild_silver
from commercepulse.staging.schemas import SchemaViolation
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.gold_sql import GOLD_DEPS, GOLD_STATEMENTS
from commercepulse.warehouse.tables import SILVER

BRONZE_GROUP, SILVER_GROUP, GOLD_GROUP = "platform_bronze", "platform_silver", "platform_gold"


@dg.asset(
    group_name=BRONZE_GROUP,
    kinds={"mongodb"},
    partitions_def=INGESTION_DAILY,
    backfill_policy=SINGLE_RUN,
)
def platform_raw(
    context: dg.AssetExecutionContext, mongo: MongoResource, settings: PlatformSettings
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
    name: whole_asset(name, statements, GOLD_DEPS[name], GOLD_GROUP)
    for name, statements in GOLD_STATEMENTS.items()
}


def _scd2(asset: dg.AssetsDefinition | str, table: str) -> dg.AssetChecksDefinition:
    return rule_check(
        asset,
        "scd2_integrity",
        lambda i, s, e: quality.scd2_integrity(i.warehouse, table),
        "No overlapping or gapped validity windows, exactly one current row per key (ERROR, blocking).",
        blocking=True,
        windowed=False,
    )


PLATFORM_CHECKS = [
    rule_check(
        "silver_behaviour_events",
        "duplicate_behaviour_events",
        lambda i, s, e: quality.duplicate_behaviour_events(i.warehouse, s, e, i.settings),
        "Repeated behavioural records / records, for events first ingested that day (WARN).",
        scope=PER_DAY,
        calendar=INGESTION_DAILY,
        additive=False,
    ),
    rule_check(
        "silver_behaviour_events",
        "anonymous_event_share",
        lambda i, s, e: quality.anonymous_event_share(i.warehouse, s, e, i.settings),
        "Behavioural events without user_id / events, first ingested that day (WARN).",
        scope=PER_DAY,
        calendar=INGESTION_DAILY,
        additive=False,
    ),
    rule_check(
        "silver_orders",
        "order_status_backwards",
        lambda i, s, e: quality.order_status_backwards(i.warehouse, i.settings),
        "Orders whose status went back to an earlier stage; cancellations after payment counted (WARN).",
        windowed=False,
    ),
    rule_check(
        GOLD_ASSETS["fact_platform_orders"],
        "orders_without_created",
        lambda i, s, e: quality.orders_without_created(i.warehouse, i.settings),
        "Platform orders without a CREATED record: created_at taken from their lines or earliest status; "
        "orders known only from their lines counted (WARN).",
        windowed=False,
    ),
    _scd2("silver_users", "silver_users"),
    _scd2("silver_products", "silver_products"),
    _scd2(GOLD_ASSETS["dim_product_history"], "dim_product_history"),
]
