"""Warehouse assets: partitioned facts and dims (by business day), KPI tables, the late-data KPI."""

from datetime import datetime, timezone

import dagster as dg

from commercepulse.mongo.resource import MongoResource
from commercepulse.partitions import DAILY, SINGLE_RUN, window_days
from commercepulse.raw.audit import late_arrival_stats
from commercepulse.settings import get_settings
from commercepulse.warehouse.base import Warehouse, warehouse_kind
from commercepulse.warehouse.metadata import table_metadata_spec
from commercepulse.warehouse.calendar import calendar
from commercepulse.warehouse.sql import DATE_BOUNDS, KPI_STATEMENTS, WINDOW_STATEMENTS
from commercepulse.warehouse.tables import ALL_TABLES, FACTS, KPIS

WAREHOUSE_KIND = warehouse_kind()  # the UI shows which engine the tables live in
WAREHOUSE_GROUP = "warehouse"
KPI_GROUP = "kpis"
FACT_DEPS = {
    "fact_payments": ["stg_payments"], "fact_refunds": ["stg_refunds"], "fact_shipments": ["stg_shipments"],
    "fact_orders": ["stg_orders", "stg_payments", "stg_refunds", "stg_shipments", "stg_order_updates"],
    "fact_order_daily": ["stg_orders", "fact_payments", "fact_refunds"],
    # silver_users: any of its partitions (ingestion days) may hold a user of a customer
    "dim_customer": ["stg_orders", dg.AssetDep("silver_users", partition_mapping=dg.AllPartitionMapping())],
    "dim_product": ["stg_order_items"],
}
KPI_DEPS = {
    "kpi_daily_revenue": ["fact_payments", "fact_refunds"],
    "kpi_vendor_payment_success": ["fact_payments"],
    "kpi_order_to_payment": ["fact_orders"],
    "kpi_refund_rate": ["fact_orders", "kpi_daily_revenue"],
    "kpi_top_products": ["fact_orders", "stg_order_items"],
}
# Refresh whole-history tables whenever an upstream partition changes (late data included).
REFRESH = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


def table_metadata(name: str, warehouse: Warehouse) -> dict:
    table = ALL_TABLES[name]
    rows = int(warehouse.query(f"SELECT count(*) AS n FROM {name}")["n"].iat[0])
    return {"dagster/row_count": rows, "key": ", ".join(table.key), "table": name}


def window_asset(name: str) -> dg.AssetsDefinition:
    @dg.asset(name=name, group_name=WAREHOUSE_GROUP, kinds={WAREHOUSE_KIND}, partitions_def=DAILY,
              backfill_policy=SINGLE_RUN, deps=FACT_DEPS[name], description=FACTS[name].description,
              metadata=table_metadata_spec(name))
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        start, end = window_days(context)
        params = {"start": start, "end": end, "run_id": context.run.run_id}
        warehouse.execute([(sql, params) for sql in WINDOW_STATEMENTS[name]])
        return dg.MaterializeResult(metadata=table_metadata(name, warehouse) | {"window": f"{start}..{end}"})
    return _asset


WINDOW_ASSETS = [window_asset(name) for name in WINDOW_STATEMENTS]


def whole_asset(name: str, statements: list[str], deps: list[str], group: str) -> dg.AssetsDefinition:
    @dg.asset(name=name, group_name=group, kinds={WAREHOUSE_KIND}, deps=deps, automation_condition=REFRESH,
              description=ALL_TABLES[name].description, metadata=table_metadata_spec(name))
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        params = {"run_id": context.run.run_id, "reported_at": datetime.now(timezone.utc)}
        warehouse.execute([(sql, params) for sql in statements])
        return dg.MaterializeResult(metadata=table_metadata(name, warehouse))
    return _asset


@dg.asset(group_name=WAREHOUSE_GROUP, kinds={WAREHOUSE_KIND}, automation_condition=REFRESH,
          deps=["stg_orders", "fact_orders", "fact_payments", "fact_refunds", "fact_shipments"],
          description=ALL_TABLES["dim_date"].description, metadata=table_metadata_spec("dim_date"))
def dim_date(warehouse: Warehouse) -> dg.MaterializeResult:
    """Every day from the earliest to the latest date any fact carries."""
    bounds = warehouse.query(DATE_BOUNDS).iloc[0]
    warehouse.replace_table("dim_date", calendar(bounds["lo"], bounds["hi"]))
    return dg.MaterializeResult(metadata=table_metadata("dim_date", warehouse))


WHOLE_ASSETS = [dim_date] + [
    whole_asset(name, statements, KPI_DEPS[name], KPI_GROUP) for name, statements in KPI_STATEMENTS.items()]


@dg.asset(group_name=KPI_GROUP, kinds={WAREHOUSE_KIND, "mongodb"}, partitions_def=DAILY, backfill_policy=SINGLE_RUN,
          deps=["events_raw"], description=KPIS["kpi_late_arrivals"].description,
          metadata=table_metadata_spec("kpi_late_arrivals"))
def kpi_late_arrivals(context: dg.AssetExecutionContext, mongo: MongoResource,
                      warehouse: Warehouse) -> dg.MaterializeResult:
    """Per live ingestion day, from the raw audit counters (sightings) in MongoDB."""
    start, end = window_days(context)
    frame = late_arrival_stats(mongo.db(), start, end, get_settings().late_threshold_hours)
    warehouse.replace_partitions({"kpi_late_arrivals": frame}, start, end)
    return dg.MaterializeResult(metadata=table_metadata("kpi_late_arrivals", warehouse) | {
        "days": [str(d.date()) for d in frame["ingestion_date"]]})


ASSETS = [*WINDOW_ASSETS, *WHOLE_ASSETS, kpi_late_arrivals]
