"""Vendor feed figures per live ingestion day, judged against each vendor's own history."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd

from commercepulse.checks.anomalies import judge
from commercepulse.defs.asset_checks import asset_checks
from commercepulse.defs.metadata import row_count, table_metadata_spec
from commercepulse.defs.partitions import INGESTION_DAILY, SINGLE_RUN, WAREHOUSE_KIND, window_days
from commercepulse.defs.resources import MongoResource, ProjectSettings
from commercepulse.defs.retries import mongo_retries
from commercepulse.lib.days import days_between
from commercepulse.staging.feed import feed_figures
from commercepulse.staging.feed_tags import FeedTagger
from commercepulse.staging.fx import load_rates
from commercepulse.vendors.mapping_files import shapes_for
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.frames import conform
from commercepulse.warehouse.kpi_history import record_versions
from commercepulse.warehouse.schema import ALL_TABLES

FEEDS_GROUP = "feeds"
TABLE = ALL_TABLES["vendor_feed_daily"]
HISTORY = (
    "SELECT * FROM vendor_feed_daily WHERE ingestion_date >= $since AND ingestion_date < $start"
)


@dg.asset(
    group_name=FEEDS_GROUP,
    kinds={WAREHOUSE_KIND, "mongodb"},
    partitions_def=INGESTION_DAILY,
    backfill_policy=SINGLE_RUN,
    deps=["events_raw"],
    description=TABLE.description,
    metadata=table_metadata_spec("vendor_feed_daily"),
)
def vendor_feed_daily(
    context: dg.AssetExecutionContext,
    mongo: MongoResource,
    warehouse: dg.ResourceParam[Warehouse],
    settings: ProjectSettings,
) -> dg.MaterializeResult:
    """Per vendor and ingestion day: events by type, duplicates, late share, unmapped share, payment
    success and median lag, each judged against the vendor's previous days (median and MAD)."""
    start, end = window_days(context)
    with mongo_retries(context):
        figures = feed_figures(
            mongo.db(),
            start,
            end,
            load_rates(settings.data_path),
            settings.late_threshold_hours,
            shapes_for(settings.data_path),
            processes=settings.processes,
            address=mongo.address(),
            tags=FeedTagger(str(settings.data_path)).version,
        )
    history = warehouse.query(
        HISTORY, {"since": start - timedelta(days=settings.check_feed_window_days), "start": start}
    )
    known = [frame for frame in (history, figures) if not frame.empty]
    judged = judge(
        pd.concat(known, ignore_index=True) if known else figures,
        days_between(start, end),
        settings,
    )
    warehouse.replace_partitions({"vendor_feed_daily": conform(judged, TABLE)}, start, end)
    versions = record_versions(
        warehouse, "vendor_feed_daily", context.run.run_id, datetime.now(UTC), (start, end)
    )
    flagged = judged[judged["flagged"].notna()]
    lines = [f"- {r.ingestion_date.date()} {r.vendor}: {r.anomalies}" for r in flagged.itertuples()]
    return dg.MaterializeResult(
        metadata=row_count("vendor_feed_daily", warehouse)
        | {
            "vendor_days": len(judged),
            "flagged_vendor_days": len(flagged),
            "anomalies": dg.MetadataValue.md("\n".join(lines[:50]) or "none"),
            "versions_recorded": versions,
        }
    )


FEED_CHECKS = asset_checks(vendor_feed_daily)
