"""The daily data-quality reports: one folder per processed day of the partition window."""

import dagster as dg

from commercepulse.defs.automation.recovery import unfinished_work
from commercepulse.defs.partitions import DAILY, SINGLE_RUN, window_days
from commercepulse.defs.reports.overview_now import rewrite_overview
from commercepulse.defs.resources import MongoResource, ProjectSettings
from commercepulse.defs.retries import mongo_retries
from commercepulse.reports.writer import write_window_reports
from commercepulse.warehouse.base import Warehouse


@dg.asset(
    group_name="reports",
    kinds={"html"},
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
    deps=[
        "kpi_daily_revenue",
        "kpi_vendor_payment_success",
        "kpi_order_to_payment",
        "kpi_refund_rate",
        # the same day's ingestion figures, when that day had a live ingestion
        dg.AssetDep(
            "kpi_late_arrivals",
            partition_mapping=dg.TimeWindowPartitionMapping(
                allow_nonexistent_upstream_partitions=True
            ),
        ),
        "kpi_top_products",
        "fact_order_daily",
    ],
)
def quality_reports(
    context: dg.AssetExecutionContext,
    mongo: MongoResource,
    warehouse: dg.ResourceParam[Warehouse],
    settings: ProjectSettings,
) -> dg.MaterializeResult:
    """REPORTS_DIR/YYYY-MM-DD/: quality.json, report.html and SVG charts per processed day; and
    REPORTS_DIR/index.html, the quality overview of the last 60 report days."""
    start, end = window_days(context)
    waiting = unfinished_work(context.instance)
    by_day: dict[str, list[str]] = {}
    for work in waiting:
        if work.day:
            by_day.setdefault(work.day, []).append(work.line())
    with mongo_retries(context):
        result = write_window_reports(
            mongo.db(),
            warehouse,
            start,
            end,
            settings.reports_path,
            settings,
            by_day,
        )
    folders = result["folders"]
    overview = rewrite_overview(context.instance, settings, waiting)
    context.log.info(
        f"{len(folders)} report(s) under {settings.reports_path}: {result['written']} written, "
        f"{result['unchanged']} unchanged; {result['charts_drawn']} distinct chart(s) drawn"
    )
    return dg.MaterializeResult(
        metadata={
            "reports": len(folders),
            "written": result["written"],
            "unchanged": result["unchanged"],
            "charts_drawn": result["charts_drawn"],
            "reports_dir": str(settings.reports_path),
            "latest": dg.MetadataValue.path(str(folders[-1] / "report.html")) if folders else None,
            # every check x the last 60 report days, the vendor feeds, links to reports and checks
            "overview": dg.MetadataValue.path(str(overview)) if overview else None,
            "overview_url": dg.MetadataValue.url(overview.resolve().as_uri()) if overview else None,
        }
    )
