"""Silver: the platform's own sources (SPEC §9), deduplicated, with history where it matters."""

from __future__ import annotations

from commercepulse.warehouse.schema.base import C, Table

BRONZE_IDS = C(
    "bronze_ids", "STRING", "comma-separated platform_raw _ids this row came from", False
)
SCD2 = (
    C("valid_from", "TIMESTAMP", "first instant this version was true", False),
    C("valid_to", "TIMESTAMP", "first instant it no longer was (null = still true)"),
    C("is_current", "BOOL", "the key's current version", False),
)

SILVER: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "silver_users",
            "platform users, SCD type 2 over name, email and phone",
            (
                C("user_id", "STRING", nullable=False),
                C("name", "STRING"),
                C("email", "STRING", "as sent"),
                C("email_norm", "STRING", "trimmed, lower-cased: the link to vendor customers"),
                C("phone", "STRING"),
                C("created_at", "TIMESTAMP"),
                *SCD2,
                BRONZE_IDS,
            ),
            key=("user_id", "valid_from"),
            partition_col=None,
        ),
        Table(
            "silver_products",
            "product catalog, SCD type 2 over name, category and price",
            (
                C("product_id", "STRING", "the SKU", nullable=False),
                C("product_name", "STRING"),
                C("category", "STRING"),
                C("price_ngn", "DECIMAL6", "list price of this version"),
                C("available_stock", "INT64", "stock reported with the version's first record"),
                *SCD2,
                BRONZE_IDS,
            ),
            key=("product_id", "valid_from"),
        ),
        Table(
            "silver_orders",
            "platform orders: latest status by time wins, lifecycle kept",
            (
                C("order_id", "STRING", nullable=False),
                C("user_id", "STRING"),
                C("status", "STRING", "status of the latest record by status time", False),
                C("status_time", "TIMESTAMP", nullable=False),
                C("created_at", "TIMESTAMP", "first CREATED record"),
                C(
                    "first_status_time",
                    "TIMESTAMP",
                    "earliest lifecycle record of any status",
                    False,
                ),
                C("paid_at", "TIMESTAMP", "first PAID"),
                C("shipped_at", "TIMESTAMP", "first SHIPPED"),
                C("cancelled_at", "TIMESTAMP", "first CANCELLED"),
                C("cancelled_after_payment", "BOOL", "CANCELLED after a PAID", False),
                C(
                    "status_went_backwards",
                    "BOOL",
                    "a later record carries an earlier lifecycle stage",
                    False,
                ),
                C("status_records", "INT64", "distinct lifecycle records", False),
                C("duplicate_records", "INT64", "records repeating one already seen", False),
                BRONZE_IDS,
            ),
            key=("order_id",),
        ),
        Table(
            "silver_order_items",
            "platform order lines at their purchase price",
            (
                C("order_id", "STRING", nullable=False),
                C(
                    "line_no",
                    "INT64",
                    "1.. within the order; a line is (order, SKU, quantity, price, time): an exact "
                    "re-sent copy is one line, two different lines for one SKU are two",
                    False,
                ),
                C("product_id", "STRING", nullable=False),
                C("quantity", "FLOAT64"),
                C("unit_price_ngn", "DECIMAL6", "price paid, never today's price"),
                C("created_at", "TIMESTAMP", nullable=False),
                BRONZE_IDS,
            ),
            key=("order_id", "line_no"),
        ),
        Table(
            "silver_behaviour_events",
            "behavioural events, one per event_id",
            (
                C("event_id", "STRING", nullable=False),
                C("session_id", "STRING", nullable=False),
                C("user_id", "STRING", "null = anonymous"),
                C("event_type", "STRING", "view|add_to_cart|checkout", False),
                C("event_ts", "TIMESTAMP", nullable=False),
                C("event_date", "DATE", nullable=False),
                C("device_type", "STRING", "web|mobile"),
                C("copies", "INT64", "Bronze records carrying this id", False),
                C("first_ingestion_day", "DATE", "ingestion day of the first copy", False),
                C("is_late", "BOOL", "first copy ingested on a later day than the event", False),
                BRONZE_IDS,
            ),
            key=("event_id",),
        ),
    )
}
