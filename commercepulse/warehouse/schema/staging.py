"""Staging frames: the canonical events, one table per kind, partitioned by event day."""

from __future__ import annotations

from commercepulse.warehouse.schema.base import ENVELOPE, FX, C, Table

#: The staged event tables: one row per raw event, each with the envelope (vendor, event_date,
#: ingested_at, source_kind); what the landing and lateness figures read.
EVENT_TABLES = ("stg_orders", "stg_payments", "stg_refunds", "stg_shipments", "stg_order_updates")

STAGING: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "stg_orders",
            "order_created events and dump orders, canonical",
            ENVELOPE
            + (
                C("order_time", "TIMESTAMP", "order creation time (UTC)", False),
                C("customer_id", "STRING"),
                C("email", "STRING", "PERSONAL DATA: lower-cased e-mail, for dim_customer"),
                C("phone", "STRING", "PERSONAL DATA: phone, for dim_customer"),
                C(
                    "customer_key",
                    "STRING",
                    "pseudonymous: keyed hash of customer id, else e-mail, else phone",
                ),
                C("total", "DECIMAL6", "order total in its currency"),
                C("currency", "STRING"),
                C("total_ngn", "MONEY", "total converted to NGN"),
                *FX,
                C("region", "STRING"),
                C("address", "STRING", "string or JSON object"),
                C("item_count", "INT64", "line items listed", False),
            ),
            key=("event_id",),
            partition_col="event_date",
        ),
        Table(
            "stg_order_items",
            "order line items (prices are NGN in every source)",
            ENVELOPE
            + (
                C("order_time", "TIMESTAMP", nullable=False),
                C("line_no", "INT64", "1-based position", False),
                C("sku", "STRING"),
                C("qty", "FLOAT64"),
                C("unit_price_ngn", "DECIMAL6"),
                C("line_total_ngn", "MONEY", "qty x unit price"),
            ),
            key=("event_id", "line_no"),
            partition_col="event_date",
        ),
        Table(
            "stg_payments",
            "payment attempts (SUCCESS and FAILED)",
            ENVELOPE
            + (
                C("paid_time", "TIMESTAMP", nullable=False),
                C("status", "STRING", "upper-cased", False),
                C("amount", "DECIMAL6"),
                C("currency", "STRING"),
                C("amount_ngn", "MONEY"),
                *FX,
                C("method", "STRING"),
                C("transaction_ref", "STRING", "not unique across orders"),
                C(
                    "duplicate_of",
                    "STRING",
                    "event id of the first arrival when re-sent under a new id",
                ),
            ),
            key=("event_id",),
            partition_col="event_date",
        ),
        Table(
            "stg_refunds",
            "refunds",
            ENVELOPE
            + (
                C("refund_time", "TIMESTAMP", nullable=False),
                C("amount", "DECIMAL6"),
                C("currency", "STRING"),
                C("amount_ngn", "MONEY"),
                *FX,
                C("reason", "STRING"),
                C("refunded_items", "STRING", "JSON list of refunded items; null = whole order"),
                C("lists_items", "BOOL", "the refund lists items (partial)", False),
            ),
            key=("event_id",),
            partition_col="event_date",
        ),
        Table(
            "stg_shipments",
            "shipment status rows (dump histories exploded)",
            ENVELOPE
            + (
                C("history_index", "INT64", "position in the dump history (0 for live)", False),
                C("status", "STRING"),
                C("status_time", "TIMESTAMP", nullable=False),
                C("tracking", "STRING"),
                C("carrier", "STRING"),
            ),
            key=("event_id", "history_index"),
            partition_col="event_date",
        ),
        Table(
            "stg_order_updates",
            "order_updated events",
            ENVELOPE
            + (
                C("update_time", "TIMESTAMP", nullable=False),
                C("change", "STRING"),
                C("notes", "STRING"),
            ),
            key=("event_id",),
            partition_col="event_date",
        ),
        Table(
            "stg_unmapped",
            "records no mapping fits (schema drift, unknown types)",
            (
                C("event_id", "STRING", nullable=False),
                C("event_type", "STRING"),
                C("vendor", "STRING"),
                C("event_date", "DATE", nullable=False),
                C("ingested_at", "TIMESTAMP", nullable=False),
                C("is_late", "BOOL", nullable=False),
                C("source_kind", "STRING", nullable=False),
                C("order_id", "STRING"),
                C("reason", "STRING", nullable=False),
                C("unknown_keys", "STRING", "comma-separated payload keys no shape knows"),
                C("payload", "STRING", "the payload as JSON"),
            ),
            key=("event_id",),
            partition_col="event_date",
        ),
    )
}
