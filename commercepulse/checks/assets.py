"""Asset checks attached to the assets they judge; per-day checks are partitioned like them.

Thresholds come from settings (CHECK_*); each result carries its figure, threshold and
severity as metadata. Completeness is returned with the staging materialization itself
(see staging/assets.py); the rest run after their asset.
"""
import dagster as dg

from commercepulse.checks import rules
from commercepulse.mongo.resource import MongoResource
from commercepulse.partitions import DAILY, window_days
from commercepulse.settings import get_settings
from commercepulse.warehouse.base import Warehouse


@dg.asset_check(asset="events_raw", partitions_def=DAILY, description="Duplicate lines / valid lines per ingestion day.")
def duplicate_event_rate(context: dg.AssetCheckExecutionContext, mongo: MongoResource) -> dg.AssetCheckResult:
    return rules.duplicate_event_rate(mongo.db(), *window_days(context), get_settings()).result()


@dg.asset_check(asset="events_raw", partitions_def=DAILY, description="Late events / distinct events per ingestion day.")
def late_arriving_pct(context: dg.AssetCheckExecutionContext, mongo: MongoResource) -> dg.AssetCheckResult:
    return rules.late_arriving_pct(mongo.db(), *window_days(context), get_settings()).result()


@dg.asset_check(asset="fact_payments", partitions_def=DAILY,
                description="Successful payments whose order has no order_created event anywhere.")
def payments_without_order(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    return rules.payments_without_order(warehouse, *window_days(context), get_settings()).result()


@dg.asset_check(asset="fact_refunds", partitions_def=DAILY, description="Refunds of orders with no successful payment.")
def refunds_without_payment(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    return rules.refunds_without_payment(warehouse, *window_days(context), get_settings()).result()


@dg.asset_check(asset="fact_orders", partitions_def=DAILY, blocking=True,
                description="Orders refunded beyond what was paid (ERROR; blocks downstream).")
def over_refunded_orders(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    return rules.over_refunded_orders(warehouse, *window_days(context), get_settings()).result()


@dg.asset_check(asset="stg_unmapped", partitions_def=DAILY,
                description="Records no vendor shape fits (schema drift), with their unknown keys.")
def schema_drift(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    return rules.schema_drift(warehouse, *window_days(context), get_settings()).result()


@dg.asset_check(asset="kpi_daily_revenue", description="Net revenue per day now vs. as last reported.")
def revenue_drift(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    return rules.revenue_drift(warehouse, get_settings(), run_id=context.run.run_id).result()


def _key_integrity_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=table, name="key_integrity", partitions_def=DAILY, blocking=True,
                    description=f"Unique non-null keys of {table}; dimension orphans reported.")
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        return rules.key_integrity(warehouse, table, *window_days(context)).result()
    return _check


CHECKS = [duplicate_event_rate, late_arriving_pct, payments_without_order, refunds_without_payment,
          over_refunded_orders, schema_drift, revenue_drift,
          *(_key_integrity_check(t) for t in ("fact_orders", "fact_payments", "fact_refunds", "fact_shipments",
                                             "fact_order_daily"))]
