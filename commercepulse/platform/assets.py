"""Platform assets: Bronze landing, Silver (by ingestion day, incremental by key), Gold tables."""

import time

import dagster as dg
from dagster_pandas.constraints import ConstraintViolationException

from commercepulse.mongo.resource import MongoResource
from commercepulse.partitions import DAILY, SINGLE_RUN, days_between, window_days
from commercepulse.platform.bronze import ingest_platform, platform_files
from commercepulse.platform.gold_sql import GOLD_DEPS, GOLD_STATEMENTS
from commercepulse.platform.silver import SILVER_OF, silver_frames
from commercepulse.settings import get_settings
from commercepulse.staging.schemas import validate
from commercepulse.warehouse.frames import conform
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.assets import WAREHOUSE_KIND, whole_asset
from commercepulse.warehouse.metadata import table_metadata_spec
from commercepulse.warehouse.tables import SILVER

BRONZE_GROUP, SILVER_GROUP, GOLD_GROUP = "platform_bronze", "platform_silver", "platform_gold"


@dg.asset(group_name=BRONZE_GROUP, kinds={"mongodb"}, partitions_def=DAILY, backfill_policy=SINGLE_RUN,
          description="Platform source files of an ingestion day (DATA_DIR/platform/<source>/D.jsonl) "
                      "landed verbatim in platform_raw with source_system and ingestion_time.")
def platform_raw(context: dg.AssetExecutionContext, mongo: MongoResource) -> dg.MaterializeResult:
    start, end = window_days(context)
    root = get_settings().data_dir / "platform"
    days = days_between(start, end)
    if not root.is_dir() or not platform_files(root, days):
        raise dg.Failure(description=f"No platform files for {start}..{end} under {root}/<source>/ "
                                     f"(generate with `commercepulse generate platform`).")
    stats, per_source = ingest_platform(mongo.db(), root, days)
    context.log.info(f"platform {start}..{end}: {stats.as_dict() | {'business_days': len(stats.business_days)}}")
    return dg.MaterializeResult(metadata={
        "files": stats.files, "lines_read": stats.lines_read, "landed": stats.landed,
        "already_landed": stats.duplicates, "quarantined": stats.quarantined, "lines_per_source": per_source})


SILVER_SPECS = [dg.AssetSpec(name, group_name=SILVER_GROUP, kinds={"pandas", WAREHOUSE_KIND}, deps=["platform_raw"],
                             description=SILVER[name].description, metadata=table_metadata_spec(name))
                for name in SILVER_OF.values()]


@dg.multi_asset(specs=SILVER_SPECS, partitions_def=DAILY, backfill_policy=SINGLE_RUN, can_subset=False,
                name="platform_silver")
def platform_silver(context: dg.AssetExecutionContext, mongo: MongoResource, warehouse: Warehouse):
    """Rebuild the Silver rows of every key the window's Bronze records touched, in one transaction."""
    start, end = window_days(context)
    t0 = time.perf_counter()
    built = silver_frames(mongo.db(), start, end)
    batches = []
    for table, (key, keys, frame) in built.items():
        frame = conform(frame, SILVER[table])
        try:
            validate(frame, table)
        except ConstraintViolationException as exc:
            raise dg.Failure(description=f"{table} for {start}..{end} breaks its schema: {exc}") from exc
        batches.append((table, key, keys, frame))
    warehouse.replace_keys(batches)
    seconds = round(time.perf_counter() - t0, 3)
    for table, key, keys, frame in batches:
        yield dg.MaterializeResult(asset_key=table, metadata={
            "keys_touched": len(keys), "rows_rebuilt": len(frame), "seconds": seconds,
            "dagster/row_count": int(warehouse.query(f"SELECT count(*) AS n FROM {table}")["n"].iat[0])})


GOLD_ASSETS = [whole_asset(name, statements, GOLD_DEPS[name], GOLD_GROUP)
               for name, statements in GOLD_STATEMENTS.items()]
ASSETS = [platform_raw, platform_silver, *GOLD_ASSETS]
