"""Facts and dims by business day (each window rebuilt by SQL), dim_date, and their checks."""

import dagster as dg

from commercepulse.checks import rules
from commercepulse.defs.checks import rule_check
from commercepulse.defs.deployment import WAREHOUSE_KIND
from commercepulse.defs.metadata import row_count, table_metadata_spec
from commercepulse.defs.tables import REFRESH, WHOLE_HISTORY, window_asset
from commercepulse.platform import quality
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.calendar import calendar
from commercepulse.warehouse.sql import DATE_BOUNDS, WINDOW_STATEMENTS
from commercepulse.warehouse.tables import ALL_TABLES

WAREHOUSE_GROUP = "warehouse"
FACT_DEPS = {
    "fact_payments": ["stg_payments"],
    "fact_refunds": ["stg_refunds"],
    "fact_shipments": ["stg_shipments"],
    "fact_orders": [
        "stg_orders",
        "stg_payments",
        "stg_refunds",
        "stg_shipments",
        "stg_order_updates",
    ],
    "fact_order_daily": ["stg_orders", "fact_payments", "fact_refunds"],
    # silver_users: any of its partitions (ingestion days) may hold a user of a customer
    "dim_customer": [
        "stg_orders",
        dg.AssetDep("silver_users", partition_mapping=dg.AllPartitionMapping()),
    ],
    "dim_product": ["stg_order_items"],
}
WINDOW_ASSETS = {
    name: window_asset(name, WINDOW_STATEMENTS[name], FACT_DEPS[name], WAREHOUSE_GROUP)
    for name in WINDOW_STATEMENTS
}


@dg.asset(
    group_name=WAREHOUSE_GROUP,
    kinds={WAREHOUSE_KIND},
    automation_condition=REFRESH,
    tags=WHOLE_HISTORY,
    deps=["stg_orders", "fact_orders", "fact_payments", "fact_refunds", "fact_shipments"],
    description=ALL_TABLES["dim_date"].description,
    metadata=table_metadata_spec("dim_date"),
)
def dim_date(warehouse: dg.ResourceParam[Warehouse]) -> dg.MaterializeResult:
    """Every day from the earliest to the latest date any fact carries."""
    bounds = warehouse.query(DATE_BOUNDS).iloc[0]
    warehouse.replace_table("dim_date", calendar(bounds["lo"], bounds["hi"]))
    return dg.MaterializeResult(metadata=row_count("dim_date", warehouse))


def _key_integrity(table: str) -> dg.AssetChecksDefinition:
    # dim_customer is rebuilt with the facts (dim_date after them: its orphan count may lag a run)
    dims = ["dim_customer"] if table == "fact_orders" else []
    return rule_check(
        WINDOW_ASSETS[table],
        "key_integrity",
        lambda i, s, e: rules.key_integrity(i.warehouse, table, s, e),
        f"Unique non-null keys of {table} (ERROR, blocking); dimension orphans reported.",
        blocking=True,
        reads=dims,
    )


WAREHOUSE_CHECKS = [
    rule_check(
        WINDOW_ASSETS["fact_payments"],
        "payments_without_order",
        lambda i, s, e: rules.payments_without_order(i.warehouse, s, e, i.settings),
        "Successful payments whose (vendor, order) has no order_created event anywhere (WARN).",
        by_day=lambda i, s, e: rules.payments_without_order_by_day(i.warehouse, s, e, i.settings),
    ),
    rule_check(
        WINDOW_ASSETS["fact_refunds"],
        "refunds_without_payment",
        lambda i, s, e: rules.refunds_without_payment(i.warehouse, s, e, i.settings),
        "Refunds of orders with no successful payment (WARN).",
        by_day=lambda i, s, e: rules.refunds_without_payment_by_day(i.warehouse, s, e, i.settings),
    ),
    rule_check(
        WINDOW_ASSETS["fact_orders"],
        "over_refunded_orders",
        lambda i, s, e: rules.over_refunded_orders(i.warehouse, s, e, i.settings),
        "Paid orders refunded beyond what was paid, in the original currency (ERROR finding, not blocking).",
    ),
    rule_check(
        WINDOW_ASSETS["dim_customer"],
        "customer_email_conflicts",
        lambda i, s, e: quality.customer_email_conflicts(i.warehouse, i.settings),
        "Customers whose normalized email several platform users share; the earliest is linked (WARN).",
        windowed=False,
    ),
    *(
        _key_integrity(t)
        for t in (
            "fact_orders",
            "fact_payments",
            "fact_refunds",
            "fact_shipments",
            "fact_order_daily",
        )
    ),
]
