"""Staging: one extraction pass per business-day window feeds all seven canonical frames;
completeness (every raw event reaches a frame or stg_unmapped) is returned with them."""

import dagster as dg

from commercepulse.defs.asset_checks import asset_checks
from commercepulse.defs.metadata import table_metadata_spec
from commercepulse.defs.partitions import DAILY, SINGLE_RUN, window_days
from commercepulse.defs.resources import MongoResource, ProjectSettings
from commercepulse.defs.retries import mongo_retries
from commercepulse.staging.normalize import FRAMES
from commercepulse.staging.schemas import SchemaViolation
from commercepulse.staging.stage import stage_window
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.customer_rekey import ensure_salt
from commercepulse.warehouse.schema import STAGING

STAGING_GROUP = "staging"
#: A business day's events may have landed on any ingestion day (late data, dumps): staging
#: reads its window by event time from all of events_raw, so it depends on all of it.
RAW_DEPS = [
    dg.AssetDep("events_raw", partition_mapping=dg.AllPartitionMapping()),
    "bootstrap_events",
]

SPECS = [
    dg.AssetSpec(
        name,
        group_name=STAGING_GROUP,
        kinds={"pandas"},
        description=STAGING[name].description,
        deps=RAW_DEPS,
        metadata={**table_metadata_spec(name), "partition_expr": "event_date"},
    )
    for name in FRAMES
]


@dg.multi_asset(
    specs=SPECS, partitions_def=DAILY, backfill_policy=SINGLE_RUN, can_subset=False, name="staging"
)
def staging(
    context: dg.AssetExecutionContext,
    mongo: MongoResource,
    warehouse: dg.ResourceParam[Warehouse],
    settings: ProjectSettings,
):
    """Every raw event of the business-day window lands in exactly one frame or in stg_unmapped."""
    start, end = window_days(context)
    salt = settings.customer_key_salt_value()
    rekeyed = ensure_salt(warehouse, salt)  # a changed salt stops here, saying what to do
    if rekeyed:
        context.log.info(f"customer keys of an earlier version re-hashed: {rekeyed:,}")
    try:
        with mongo_retries(context):
            result = stage_window(
                mongo.db(),
                warehouse,
                start,
                end,
                settings.data_path,
                settings.late_threshold_hours,
                context.log.info,
                processes=settings.processes,
                address=mongo.address(),
                customer_salt=salt,
            )
    except SchemaViolation as exc:
        raise dg.Failure(description=str(exc)) from exc
    for name in FRAMES:
        yield dg.MaterializeResult(
            asset_key=name,
            metadata={
                "dagster/row_count": result["rows"].get(name, 0),
                "rows_per_vendor": result["per_vendor"][name],
                "raw_events_in_window": result["raw_events"],
                "mapping_version": result["mapping_version"],
                **{f"seconds_{k}": v for k, v in result["timing"].items()},
            },
        )


STAGING_CHECKS = asset_checks("stg_unmapped")
