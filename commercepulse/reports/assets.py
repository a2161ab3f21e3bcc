"""The report asset: one folder per processed day of the partition window (backfills too)."""
import dagster as dg

from commercepulse.mongo.resource import MongoResource
from commercepulse.partitions import DAILY, SINGLE_RUN, window_days
from commercepulse.reports.writer import WindowKpis, write_day_report
from commercepulse.settings import get_settings
from commercepulse.warehouse.base import Warehouse

PROCESSED_DAYS = """
SELECT DISTINCT d FROM (SELECT date AS d FROM fact_order_daily UNION SELECT ingestion_date FROM kpi_late_arrivals)
WHERE d >= $start AND d < $end ORDER BY d"""


def processed_days(warehouse: Warehouse, start, end) -> list:
    return [d.date() for d in warehouse.query(PROCESSED_DAYS, {"start": start, "end": end})["d"]]


@dg.asset(group_name="reports", kinds={"html"}, partitions_def=DAILY, backfill_policy=SINGLE_RUN,
          deps=["kpi_daily_revenue", "kpi_vendor_payment_success", "kpi_order_to_payment", "kpi_refund_rate",
                "kpi_late_arrivals", "kpi_top_products", "fact_order_daily"],
          description="REPORTS_DIR/YYYY-MM-DD/: quality.json, report.html and PNG charts per processed day.")
def quality_reports(context: dg.AssetExecutionContext, mongo: MongoResource,
                    warehouse: Warehouse) -> dg.MaterializeResult:
    settings = get_settings()
    start, end = window_days(context)
    with warehouse.session():
        days = processed_days(warehouse, start, end)
        kpis = WindowKpis(warehouse, start, end)
        folders = [write_day_report(mongo.db(), warehouse, day, settings, kpis) for day in days]
    if days:
        context.log.info(f"wrote {len(folders)} report(s) under {settings.reports_dir.resolve()}")
    return dg.MaterializeResult(metadata={
        "reports": len(folders), "reports_dir": str(settings.reports_dir.resolve()),
        "latest": dg.MetadataValue.path(str(folders[-1] / "report.html")) if folders else None})
