"""Every warehouse table, once: columns with types and descriptions, key, partition column.

These specs drive the pandas dtypes of staging frames, their dagster-pandas validation, the
DDL of each engine and the column metadata shown in the Dagster UI.
"""
from __future__ import annotations

from dataclasses import dataclass

PANDAS_DTYPES = {"STRING": "string", "INT64": "Int64", "FLOAT64": "float64", "BOOL": "boolean",
                 "TIMESTAMP": "datetime64[ns, UTC]", "DATE": "datetime64[ns]"}


@dataclass(frozen=True)
class Col:
    name: str
    type: str
    description: str = ""
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Col, ...]
    key: tuple[str, ...] = ()
    partition_col: str | None = None
    cluster: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)


def C(name: str, type_: str, description: str = "", nullable: bool = True) -> Col:
    return Col(name, type_, description, nullable)


ENVELOPE = (
    C("event_id", "STRING", "raw MongoDB events_raw _id this row came from", False),
    C("vendor", "STRING", "vendor_a|vendor_b|vendor_c (inferred from shape for dumps)", False),
    C("order_id", "STRING", "order reference as sent by the vendor"),
    C("event_time", "TIMESTAMP", "envelope event time (UTC)", False),
    C("event_date", "DATE", "UTC day of event_time: the partition", False),
    C("ingested_at", "TIMESTAMP", "when the event was ingested", False),
    C("is_late", "BOOL", "ingested_at - event_time > LATE_THRESHOLD_HOURS (live only)", False),
    C("source_kind", "STRING", "live or bootstrap", False),
)
FX = (C("fx_rate", "FLOAT64", "USDNGN rate used (1 for NGN)"),
      C("fx_rate_date", "DATE", "date of the FX rate used (as-of rule)"))

STAGING: dict[str, Table] = {t.name: t for t in (
    Table("stg_orders", "order_created events and dump orders, canonical", ENVELOPE + (
        C("order_time", "TIMESTAMP", "order creation time (UTC)", False),
        C("customer_id", "STRING"), C("email", "STRING", "lower-cased"), C("phone", "STRING"),
        C("customer_key", "STRING", "customer id, else email, else phone"),
        C("total", "FLOAT64", "order total in its currency"), C("currency", "STRING"),
        C("total_ngn", "FLOAT64", "total converted to NGN"), *FX,
        C("region", "STRING"), C("address", "STRING", "string or JSON object"),
        C("item_count", "INT64", "line items listed", False),
    ), key=("event_id",), partition_col="event_date"),
    Table("stg_order_items", "order line items (prices are NGN in every source)", ENVELOPE + (
        C("order_time", "TIMESTAMP", nullable=False), C("line_no", "INT64", "1-based position", False),
        C("sku", "STRING"), C("qty", "FLOAT64"), C("unit_price_ngn", "FLOAT64"),
        C("line_total_ngn", "FLOAT64", "qty x unit price"),
    ), key=("event_id", "line_no"), partition_col="event_date"),
    Table("stg_payments", "payment attempts (SUCCESS and FAILED)", ENVELOPE + (
        C("paid_time", "TIMESTAMP", nullable=False), C("status", "STRING", "upper-cased", False),
        C("amount", "FLOAT64"), C("currency", "STRING"), C("amount_ngn", "FLOAT64"), *FX,
        C("method", "STRING"), C("transaction_ref", "STRING", "not unique across orders"),
        C("duplicate_of", "STRING", "event id of the first arrival when re-sent under a new id"),
    ), key=("event_id",), partition_col="event_date"),
    Table("stg_refunds", "refunds", ENVELOPE + (
        C("refund_time", "TIMESTAMP", nullable=False), C("amount", "FLOAT64"), C("currency", "STRING"),
        C("amount_ngn", "FLOAT64"), *FX, C("reason", "STRING"),
        C("refunded_items", "STRING", "JSON list of refunded items; null = whole order"),
        C("lists_items", "BOOL", "the refund lists items (partial)", False),
    ), key=("event_id",), partition_col="event_date"),
    Table("stg_shipments", "shipment status rows (dump histories exploded)", ENVELOPE + (
        C("history_index", "INT64", "position in the dump history (0 for live)", False),
        C("status", "STRING"), C("status_time", "TIMESTAMP", nullable=False),
        C("tracking", "STRING"), C("carrier", "STRING"),
    ), key=("event_id", "history_index"), partition_col="event_date"),
    Table("stg_order_updates", "order_updated events", ENVELOPE + (
        C("update_time", "TIMESTAMP", nullable=False), C("change", "STRING"), C("notes", "STRING"),
    ), key=("event_id",), partition_col="event_date"),
    Table("stg_unmapped", "records no mapping fits (schema drift, unknown types)", (
        C("event_id", "STRING", nullable=False), C("event_type", "STRING"), C("vendor", "STRING"),
        C("event_date", "DATE", nullable=False), C("ingested_at", "TIMESTAMP", nullable=False),
        C("is_late", "BOOL", nullable=False), C("source_kind", "STRING", nullable=False),
        C("order_id", "STRING"), C("reason", "STRING", nullable=False),
        C("unknown_keys", "STRING", "comma-separated payload keys no shape knows"),
        C("payload", "STRING", "the payload as JSON"),
    ), key=("event_id",), partition_col="event_date"),
)}

AUDIT = (C("event_ids", "STRING", "comma-separated raw event ids this row came from", False),
         C("run_id", "STRING", "Dagster run that wrote the row", False))

FACTS: dict[str, Table] = {t.name: t for t in (
    Table("fact_orders", "one row per order (vendor, order_id), current state (latest by event time wins)", (
        C("order_id", "STRING", nullable=False), C("vendor", "STRING", nullable=False), C("customer_key", "STRING"),
        C("order_time", "TIMESTAMP"), C("order_date", "DATE"), C("currency", "STRING"), C("total", "FLOAT64"),
        C("total_ngn", "FLOAT64"), C("item_count", "INT64"), C("status", "STRING", "state of the latest event"),
        C("first_paid_time", "TIMESTAMP"), C("paid_ngn", "FLOAT64", "sum of successful payments"),
        C("refunded_ngn", "FLOAT64"), C("refund_count", "INT64"), C("has_partial_refund", "BOOL"),
        C("last_event_time", "TIMESTAMP", nullable=False), *AUDIT,
    ), key=("vendor", "order_id"), partition_col=None, cluster=("vendor", "order_id")),
    Table("fact_payments", "payment attempts, one per event (re-sent duplicates once)", (
        C("event_id", "STRING", nullable=False), C("event_date", "DATE", nullable=False),
        C("paid_date", "DATE", nullable=False), C("paid_time", "TIMESTAMP", nullable=False),
        C("vendor", "STRING", nullable=False), C("order_id", "STRING"), C("status", "STRING", nullable=False),
        C("amount", "FLOAT64"), C("currency", "STRING"), C("amount_ngn", "FLOAT64"), C("fx_rate", "FLOAT64"),
        C("fx_rate_date", "DATE"), C("method", "STRING"), C("transaction_ref", "STRING"), *AUDIT,
    ), key=("event_id",), partition_col="event_date", cluster=("vendor", "order_id")),
    Table("fact_refunds", "refunds, one per event", (
        C("event_id", "STRING", nullable=False), C("event_date", "DATE", nullable=False),
        C("refund_date", "DATE", nullable=False), C("refund_time", "TIMESTAMP", nullable=False),
        C("vendor", "STRING", nullable=False), C("order_id", "STRING"), C("amount", "FLOAT64"),
        C("currency", "STRING"), C("amount_ngn", "FLOAT64"), C("reason", "STRING"),
        C("lists_items", "BOOL", nullable=False), *AUDIT,
    ), key=("event_id",), partition_col="event_date", cluster=("vendor", "order_id")),
    Table("fact_shipments", "shipment status events", (
        C("event_id", "STRING", nullable=False), C("history_index", "INT64", nullable=False),
        C("event_date", "DATE", nullable=False), C("status_time", "TIMESTAMP", nullable=False),
        C("vendor", "STRING", nullable=False), C("order_id", "STRING"), C("status", "STRING"),
        C("tracking", "STRING"), C("carrier", "STRING"), *AUDIT,
    ), key=("event_id", "history_index"), partition_col="event_date", cluster=("vendor", "order_id")),
    Table("fact_order_daily", "per business day and vendor", (
        C("date", "DATE", nullable=False), C("vendor", "STRING", nullable=False),
        C("orders", "INT64"), C("order_value_ngn", "FLOAT64"), C("successful_payments", "INT64"),
        C("failed_payments", "INT64"), C("gross_revenue_ngn", "FLOAT64"), C("refunds_ngn", "FLOAT64"),
        C("net_revenue_ngn", "FLOAT64"), C("run_id", "STRING", nullable=False),
    ), key=("date", "vendor"), partition_col="date", cluster=("vendor",)),
    Table("dim_customer", "one row per customer key", (
        C("customer_key", "STRING", nullable=False), C("customer_id", "STRING"), C("email", "STRING"),
        C("phone", "STRING"), C("first_seen", "TIMESTAMP"), C("last_seen", "TIMESTAMP"),
        C("vendors_seen", "STRING", "comma-separated"), C("orders", "INT64"),
    ), key=("customer_key",)),
    Table("dim_product", "one row per SKU", (
        C("sku", "STRING", nullable=False), C("first_seen", "TIMESTAMP"), C("last_seen", "TIMESTAMP"),
        C("min_price_ngn", "FLOAT64"), C("max_price_ngn", "FLOAT64"), C("lines", "INT64"),
    ), key=("sku",)),
    Table("dim_date", "calendar covering every fact date", (
        C("date", "DATE", nullable=False), C("year", "INT64"), C("quarter", "INT64"), C("month", "INT64"),
        C("day", "INT64"), C("day_of_week", "INT64", "1 = Monday"), C("is_weekend", "BOOL"),
    ), key=("date",)),
)}

KPIS: dict[str, Table] = {t.name: t for t in (
    Table("kpi_daily_revenue", "cash-basis revenue per UTC day (NGN)", (
        C("date", "DATE", nullable=False), C("gross_revenue_ngn", "FLOAT64"), C("refunds_ngn", "FLOAT64"),
        C("net_revenue_ngn", "FLOAT64"),
    ), key=("date",)),
    Table("kpi_vendor_payment_success", "payment success per payment day and vendor", (
        C("date", "DATE", nullable=False), C("vendor", "STRING", nullable=False), C("attempts", "INT64"),
        C("successes", "INT64"), C("success_rate", "FLOAT64"),
    ), key=("date", "vendor")),
    Table("kpi_order_to_payment", "first successful payment - order time, per order day and vendor", (
        C("date", "DATE", nullable=False), C("vendor", "STRING", nullable=False), C("orders", "INT64"),
        C("avg_minutes", "FLOAT64"), C("median_minutes", "FLOAT64"), C("negative_gaps", "INT64"),
    ), key=("date", "vendor")),
    Table("kpi_refund_rate", "refunds among orders first paid on a day", (
        C("date", "DATE", nullable=False), C("paid_orders", "INT64"), C("refunded_orders", "INT64"),
        C("partial_refunds", "INT64"), C("refund_rate", "FLOAT64"), C("value_rate", "FLOAT64"),
    ), key=("date",)),
    Table("kpi_late_arrivals", "late and duplicate lines per live ingestion day", (
        C("ingestion_date", "DATE", nullable=False), C("events", "INT64"), C("late_events", "INT64"),
        C("late_pct", "FLOAT64"), C("duplicate_lines", "INT64"), C("lines", "INT64"),
        C("duplicate_rate", "FLOAT64"),
    ), key=("ingestion_date",), partition_col="ingestion_date"),
    Table("kpi_top_products", "SKUs by revenue over orders with a successful payment", (
        C("rank", "INT64", nullable=False), C("sku", "STRING", nullable=False), C("units", "FLOAT64"),
        C("revenue_ngn", "FLOAT64"),
    ), key=("rank",)),
)}

AUDIT_TABLES: dict[str, Table] = {t.name: t for t in (
    Table("revenue_snapshots", "each day's net revenue as reported by each run that changed it", (
        C("date", "DATE", nullable=False), C("run_id", "STRING", nullable=False),
        C("reported_at", "TIMESTAMP", nullable=False), C("gross_revenue_ngn", "FLOAT64"),
        C("refunds_ngn", "FLOAT64"), C("net_revenue_ngn", "FLOAT64"),
    ), key=("date", "run_id")),
)}

ALL_TABLES: dict[str, Table] = {**STAGING, **FACTS, **KPIS, **AUDIT_TABLES}
