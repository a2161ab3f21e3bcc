"""Gold built from the platform sources beside the vendor facts. Behavioural data never feeds
money."""

from __future__ import annotations

from commercepulse.warehouse.schema.base import C, Table
from commercepulse.warehouse.schema.silver import SCD2
from commercepulse.warehouse.session_credit import (
    PAID_ORDER_CLOCK_SKEW_SECONDS,
    PAID_ORDER_WINDOW_MINUTES,
)

PLATFORM_GOLD: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "dim_product_history",
            "dim_product's SCD2 history: every catalog version per SKU",
            (
                C("sku", "STRING", nullable=False),
                C("version", "INT64", "1 = oldest", False),
                C("product_name", "STRING"),
                C("category", "STRING"),
                C("list_price_ngn", "DECIMAL6"),
                *SCD2,
            ),
            key=("sku", "valid_from"),
            upstream=("silver_products",),
        ),
        Table(
            "fact_platform_orders",
            "platform orders with their resolved status and purchase-price value",
            (
                C("order_id", "STRING", nullable=False),
                C("user_id", "STRING"),
                C(
                    "status",
                    "STRING",
                    "latest lifecycle status (null: the order is known only from its lines)",
                ),
                C(
                    "created_at",
                    "TIMESTAMP",
                    "first CREATED record; without one, the earliest line's created_at, "
                    "else the earliest lifecycle record",
                ),
                C(
                    "created_from",
                    "STRING",
                    "where created_at comes from: CREATED, order_items or first_status",
                    False,
                ),
                C("order_date", "DATE"),
                C("paid_at", "TIMESTAMP"),
                C("shipped_at", "TIMESTAMP"),
                C("cancelled_at", "TIMESTAMP"),
                C("cancelled_after_payment", "BOOL"),
                C("status_went_backwards", "BOOL"),
                C("lines", "INT64"),
                C("order_value_ngn", "MONEY", "sum of quantity x purchase price"),
            ),
            key=("order_id",),
            cluster=("order_id",),
            partition_by="order_date",
            upstream=("silver_orders", "silver_order_items"),
        ),
        Table(
            "fact_platform_order_items",
            "order lines with the catalog version valid when ordered",
            (
                C("order_id", "STRING", nullable=False),
                C("line_no", "INT64", "line number within the order", False),
                C("sku", "STRING", nullable=False),
                C("quantity", "FLOAT64"),
                C("unit_price_ngn", "DECIMAL6", "purchase price"),
                C("line_value_ngn", "MONEY"),
                C("order_time", "TIMESTAMP"),
                C("product_version", "INT64", "dim_product_history version at order time"),
                C("category_at_order", "STRING"),
                C("list_price_at_order_ngn", "DECIMAL6"),
            ),
            key=("order_id", "line_no"),
            cluster=("sku",),
            partition_by="order_time",
            upstream=("silver_order_items", "dim_product_history"),
        ),
        Table(
            "fact_sessions",
            "one row per behavioural session",
            (
                C("session_id", "STRING", nullable=False),
                C("user_id", "STRING", "null = anonymous session"),
                C("device_type", "STRING", "device of the first event"),
                C("session_start", "TIMESTAMP", nullable=False),
                C("session_end", "TIMESTAMP", nullable=False),
                C("session_date", "DATE", nullable=False),
                C("events", "INT64"),
                C("views", "INT64"),
                C("add_to_carts", "INT64"),
                C("checkouts", "INT64"),
                C("has_view", "BOOL"),
                C("has_add_to_cart", "BOOL"),
                C("has_checkout", "BOOL"),
                C(
                    "paid_order_id",
                    "STRING",
                    "paid platform order of the user created from the first checkout (less "
                    f"{PAID_ORDER_CLOCK_SKEW_SECONDS} s clock skew) to {PAID_ORDER_WINDOW_MINUTES} min "
                    "after the last event; one session per order",
                ),
                C(
                    "funnel_step",
                    "INT64",
                    "steps reached in sequence: 1 view, 2 cart, 3 checkout, 4 paid order",
                ),
                C("is_anonymous", "BOOL"),
            ),
            key=("session_id",),
            partition_col="session_date",
            cluster=("device_type",),
            upstream=("silver_behaviour_events", "fact_platform_orders"),
        ),
    )
}
