"""Every warehouse table, once: columns with types and descriptions, key, partition column.

These specs drive the pandas dtypes of staging frames, their dagster-pandas validation, the
DDL of each engine and the column metadata shown in the Dagster UI.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from commercepulse.warehouse.gold_sql import (
    PAID_ORDER_CLOCK_SKEW_SECONDS,
    PAID_ORDER_WINDOW_MINUTES,
)

PANDAS_DTYPES = {
    "STRING": "string",
    "INT64": "Int64",
    "FLOAT64": "float64",
    "BOOL": "boolean",
    "TIMESTAMP": "datetime64[ns, UTC]",
    "DATE": "datetime64[ns]",
}


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
    partition_col: str | None = None  # the column a partition window replaces
    cluster: tuple[str, ...] = ()
    partition_by: str | None = None  # BigQuery DAY partitioning when it differs from partition_col

    @property
    def time_partition(self) -> str | None:
        """The DATE/TIMESTAMP column BigQuery partitions the table by (None = unpartitioned)."""
        return self.partition_by or self.partition_col

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
FX = (
    C("fx_rate", "FLOAT64", "USDNGN rate used (1 for NGN)"),
    C("fx_rate_date", "DATE", "date of the FX rate used (as-of rule)"),
)

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
                C("email", "STRING", "lower-cased"),
                C("phone", "STRING"),
                C("customer_key", "STRING", "customer id, else email, else phone"),
                C("total", "FLOAT64", "order total in its currency"),
                C("currency", "STRING"),
                C("total_ngn", "FLOAT64", "total converted to NGN"),
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
                C("unit_price_ngn", "FLOAT64"),
                C("line_total_ngn", "FLOAT64", "qty x unit price"),
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
                C("amount", "FLOAT64"),
                C("currency", "STRING"),
                C("amount_ngn", "FLOAT64"),
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
                C("amount", "FLOAT64"),
                C("currency", "STRING"),
                C("amount_ngn", "FLOAT64"),
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

AUDIT = (
    C("event_ids", "STRING", "comma-separated raw event ids this row came from", False),
    C("run_id", "STRING", "Dagster run that wrote the row", False),
)

FACTS: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "fact_orders",
            "one row per order (vendor, order_id), current state (latest by event time wins)",
            (
                C("order_id", "STRING", nullable=False),
                C("vendor", "STRING", nullable=False),
                C("customer_key", "STRING"),
                C("order_time", "TIMESTAMP"),
                C("order_date", "DATE"),
                C("currency", "STRING"),
                C("total", "FLOAT64"),
                C("total_ngn", "FLOAT64"),
                C("item_count", "INT64"),
                C("status", "STRING", "state of the latest event"),
                C("first_paid_time", "TIMESTAMP"),
                C("paid_ngn", "FLOAT64", "sum of successful payments"),
                C("refunded_ngn", "FLOAT64"),
                C("refund_count", "INT64"),
                C("has_partial_refund", "BOOL"),
                C("last_event_time", "TIMESTAMP", nullable=False),
                *AUDIT,
            ),
            key=("vendor", "order_id"),
            partition_col=None,
            cluster=("vendor", "order_id"),
            partition_by="order_date",
        ),
        Table(
            "fact_payments",
            "payment attempts, one per event (re-sent duplicates once)",
            (
                C("event_id", "STRING", nullable=False),
                C("event_date", "DATE", nullable=False),
                C("paid_date", "DATE", nullable=False),
                C("paid_time", "TIMESTAMP", nullable=False),
                C("vendor", "STRING", nullable=False),
                C("order_id", "STRING"),
                C("status", "STRING", nullable=False),
                C("amount", "FLOAT64"),
                C("currency", "STRING"),
                C("amount_ngn", "FLOAT64"),
                C("fx_rate", "FLOAT64"),
                C("fx_rate_date", "DATE"),
                C("method", "STRING"),
                C("transaction_ref", "STRING"),
                *AUDIT,
            ),
            key=("event_id",),
            partition_col="event_date",
            cluster=("vendor", "order_id"),
        ),
        Table(
            "fact_refunds",
            "refunds, one per event",
            (
                C("event_id", "STRING", nullable=False),
                C("event_date", "DATE", nullable=False),
                C("refund_date", "DATE", nullable=False),
                C("refund_time", "TIMESTAMP", nullable=False),
                C("vendor", "STRING", nullable=False),
                C("order_id", "STRING"),
                C("amount", "FLOAT64"),
                C("currency", "STRING"),
                C("amount_ngn", "FLOAT64"),
                C("reason", "STRING"),
                C("lists_items", "BOOL", nullable=False),
                *AUDIT,
            ),
            key=("event_id",),
            partition_col="event_date",
            cluster=("vendor", "order_id"),
        ),
        Table(
            "fact_shipments",
            "shipment status events",
            (
                C("event_id", "STRING", nullable=False),
                C("history_index", "INT64", nullable=False),
                C("event_date", "DATE", nullable=False),
                C("status_time", "TIMESTAMP", nullable=False),
                C("vendor", "STRING", nullable=False),
                C("order_id", "STRING"),
                C("status", "STRING"),
                C("tracking", "STRING"),
                C("carrier", "STRING"),
                *AUDIT,
            ),
            key=("event_id", "history_index"),
            partition_col="event_date",
            cluster=("vendor", "order_id"),
        ),
        Table(
            "fact_order_daily",
            "per business day and vendor",
            (
                C("date", "DATE", nullable=False),
                C("vendor", "STRING", nullable=False),
                C("orders", "INT64"),
                C("order_value_ngn", "FLOAT64"),
                C("successful_payments", "INT64"),
                C("failed_payments", "INT64"),
                C("gross_revenue_ngn", "FLOAT64"),
                C("refunds_ngn", "FLOAT64"),
                C("net_revenue_ngn", "FLOAT64"),
                C("run_id", "STRING", nullable=False),
            ),
            key=("date", "vendor"),
            partition_col="date",
            cluster=("vendor",),
        ),
        Table(
            "dim_customer",
            "one row per customer key",
            (
                C("customer_key", "STRING", nullable=False),
                C("customer_id", "STRING"),
                C("email", "STRING"),
                C("phone", "STRING"),
                C("first_seen", "TIMESTAMP"),
                C("last_seen", "TIMESTAMP"),
                C("vendors_seen", "STRING", "comma-separated"),
                C("orders", "INT64"),
                C("email_norm", "STRING", "trimmed, lower-cased email: the link to platform users"),
                C(
                    "user_id",
                    "STRING",
                    "the linked platform user (earliest created when several share the email)",
                ),
                C(
                    "linked_users",
                    "INT64",
                    "platform users with this email (> 1 = a conflict, reported)",
                ),
            ),
            key=("customer_key",),
        ),
        Table(
            "dim_product",
            "one row per SKU",
            (
                C("sku", "STRING", nullable=False),
                C("first_seen", "TIMESTAMP"),
                C("last_seen", "TIMESTAMP"),
                C("min_price_ngn", "FLOAT64"),
                C("max_price_ngn", "FLOAT64"),
                C("lines", "INT64"),
            ),
            key=("sku",),
        ),
        Table(
            "dim_date",
            "calendar covering every fact date",
            (
                C("date", "DATE", nullable=False),
                C("year", "INT64"),
                C("quarter", "INT64"),
                C("month", "INT64"),
                C("day", "INT64"),
                C("day_of_week", "INT64", "1 = Monday"),
                C("is_weekend", "BOOL"),
            ),
            key=("date",),
        ),
    )
}

KPIS: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "kpi_daily_revenue",
            "cash-basis revenue per UTC day (NGN)",
            (
                C("date", "DATE", nullable=False),
                C("gross_revenue_ngn", "FLOAT64"),
                C("refunds_ngn", "FLOAT64"),
                C("net_revenue_ngn", "FLOAT64"),
            ),
            key=("date",),
        ),
        Table(
            "kpi_vendor_payment_success",
            "payment success per payment day and vendor",
            (
                C("date", "DATE", nullable=False),
                C("vendor", "STRING", nullable=False),
                C("attempts", "INT64"),
                C("successes", "INT64"),
                C("success_rate", "FLOAT64"),
            ),
            key=("date", "vendor"),
        ),
        Table(
            "kpi_order_to_payment",
            "first successful payment - order time, per order day and vendor",
            (
                C("date", "DATE", nullable=False),
                C("vendor", "STRING", nullable=False),
                C("orders", "INT64"),
                C("avg_minutes", "FLOAT64"),
                C("median_minutes", "FLOAT64"),
                C("negative_gaps", "INT64"),
            ),
            key=("date", "vendor"),
        ),
        Table(
            "kpi_refund_rate",
            "refunds among orders first paid on a day",
            (
                C("date", "DATE", nullable=False),
                C("paid_orders", "INT64"),
                C("refunded_orders", "INT64"),
                C("partial_refunds", "INT64"),
                C("refund_rate", "FLOAT64"),
                C("value_rate", "FLOAT64"),
            ),
            key=("date",),
        ),
        Table(
            "kpi_late_arrivals",
            "late and duplicate lines per live ingestion day",
            (
                C("ingestion_date", "DATE", nullable=False),
                C("events", "INT64"),
                C("late_events", "INT64"),
                C("late_pct", "FLOAT64"),
                C("duplicate_lines", "INT64"),
                C("lines", "INT64"),
                C("duplicate_rate", "FLOAT64"),
            ),
            key=("ingestion_date",),
            partition_col="ingestion_date",
        ),
        Table(
            "vendor_feed_daily",
            "each vendor's live feed per ingestion day, judged against its own trailing history",
            (
                C("ingestion_date", "DATE", nullable=False),
                C("vendor", "STRING", nullable=False),
                C("events", "INT64", "distinct events first landed that day"),
                C("orders", "INT64"),
                C("payments", "INT64"),
                C("refunds", "INT64"),
                C("shipments", "INT64"),
                C("updates", "INT64"),
                C(
                    "unmapped",
                    "INT64",
                    "events no vendor mapping fits (schema drift, unknown types)",
                ),
                C("lines", "INT64", "valid lines read that day"),
                C("duplicate_lines", "INT64"),
                C("duplicate_rate", "FLOAT64"),
                C("late_events", "INT64"),
                C("late_pct", "FLOAT64"),
                C("unmapped_share", "FLOAT64"),
                C("payment_attempts", "INT64"),
                C("payment_success_rate", "FLOAT64"),
                C("median_lag_minutes", "FLOAT64", "median of ingested_at - event_time"),
                C(
                    "payload_keys",
                    "STRING",
                    "JSON: each event type's top-level payload keys seen that day",
                ),
                C("judged", "BOOL", "enough trailing history to judge the day"),
                C(
                    "flagged",
                    "STRING",
                    "comma-separated metrics far from the vendor's trailing median, and "
                    "payload_keys when a payload brings a new key or loses a usual one",
                ),
                C("anomalies", "STRING", "one line per flagged metric"),
            ),
            key=("ingestion_date", "vendor"),
            partition_col="ingestion_date",
            cluster=("vendor",),
        ),
        Table(
            "kpi_top_products",
            "SKUs by revenue over orders with a successful payment",
            (
                C("rank", "INT64", nullable=False),
                C("sku", "STRING", nullable=False),
                C("units", "FLOAT64"),
                C("revenue_ngn", "FLOAT64"),
            ),
            key=("rank",),
        ),
    )
}

PLATFORM_KPIS: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "kpi_daily_funnel",
            "sessions reaching view -> add_to_cart -> checkout -> paid order, per day and device",
            (
                C("date", "DATE", nullable=False),
                C("device_type", "STRING", nullable=False),
                C("sessions", "INT64"),
                C("view_sessions", "INT64"),
                C("cart_sessions", "INT64"),
                C("checkout_sessions", "INT64"),
                C("paid_sessions", "INT64"),
                C("view_to_cart", "FLOAT64"),
                C("cart_to_checkout", "FLOAT64"),
                C("checkout_to_paid", "FLOAT64"),
                C("view_to_paid", "FLOAT64"),
                C(
                    "skipped_cart_sessions",
                    "INT64",
                    "checkout without add_to_cart (not counted past view)",
                ),
                C("anonymous_sessions", "INT64"),
            ),
            key=("date", "device_type"),
        ),
        Table(
            "kpi_aov",
            "average order value: successful payments per paid order (and a net-of-refunds variant), per payment day and vendor",
            (
                C("date", "DATE", nullable=False),
                C("vendor", "STRING", nullable=False),
                C("paid_orders", "INT64", "distinct orders with a successful payment that day"),
                C("gross_revenue_ngn", "FLOAT64"),
                C("refunds_ngn", "FLOAT64"),
                C("net_revenue_ngn", "FLOAT64"),
                C(
                    "aov_ngn",
                    "FLOAT64",
                    "successful payments / paid orders (SPEC §9; null without paid orders)",
                ),
                C(
                    "net_aov_ngn",
                    "FLOAT64",
                    "net revenue (payments - refunds of the day) / paid orders",
                ),
            ),
            key=("date", "vendor"),
        ),
        Table(
            "kpi_retention",
            "monthly cohorts of first paid order: share ordering again in months +1..+6",
            (
                C("cohort_month", "DATE", nullable=False),
                C("months_since", "INT64", nullable=False),
                C("cohort_customers", "INT64"),
                C("returning_customers", "INT64", "with a paid order in that month"),
                C("retention_rate", "FLOAT64"),
                C("observed", "BOOL", "the month is within the data (else 0 is not final)"),
            ),
            key=("cohort_month", "months_since"),
        ),
    )
}
KPIS.update(PLATFORM_KPIS)

#: What each KPI column means, where its spec above leaves it unsaid: (table, column) first, then
#: the column alone. Shown as the column descriptions of every KPI asset in the Dagster UI.
KPI_COLUMN_NOTES: dict[tuple[str, str] | str, str] = {
    ("kpi_daily_revenue", "date"): "payment (gross) or refund day, UTC",
    ("kpi_vendor_payment_success", "date"): "payment day, UTC",
    ("kpi_order_to_payment", "date"): "order day, UTC",
    ("kpi_refund_rate", "date"): "day of the orders' first successful payment, UTC",
    ("kpi_daily_funnel", "date"): "session start day, UTC",
    ("kpi_aov", "date"): "payment day, UTC",
    (
        "kpi_order_to_payment",
        "orders",
    ): "orders of the day with an order time and a successful payment",
    ("vendor_feed_daily", "orders"): "order_created events first landed that day",
    ("kpi_retention", "retention_rate"): "returning_customers / cohort_customers",
    "ingestion_date": "live ingestion day (the day folder)",
    "vendor": "vendor_a|vendor_b|vendor_c",
    "gross_revenue_ngn": "successful payments of the day (NGN)",
    "refunds_ngn": "refunds of the day, on their own day (NGN)",
    "net_revenue_ngn": "gross - refunds (cash basis, NGN)",
    "attempts": "successful + failed payments",
    "successes": "successful payments",
    "success_rate": "successes / attempts",
    "avg_minutes": "mean minutes from order to first successful payment (negative gaps excluded)",
    "median_minutes": "median of the same gaps",
    "negative_gaps": "orders paid before their order time (excluded; a data-quality finding)",
    "paid_orders": "orders whose first successful payment fell on the day",
    "refunded_orders": "of those, orders with any refund (as of now)",
    "partial_refunds": "of those, refunds listing items or below what was paid",
    "refund_rate": "refunded_orders / paid_orders (orders first paid that day)",
    "value_rate": "refunds of the day / gross of the day (by value, not by order)",
    "events": "distinct events first landed that day",
    "late_events": "of those, ingested more than LATE_THRESHOLD_HOURS after their event time",
    "late_pct": "late_events / events",
    "duplicate_lines": "lines repeating an already-landed event id",
    "lines": "valid lines read that day",
    "duplicate_rate": "duplicate_lines / lines",
    "payments": "payment events first landed that day",
    "refunds": "refund events first landed that day",
    "shipments": "shipment events first landed that day",
    "updates": "order_updated events first landed that day",
    "unmapped_share": "events no vendor shape fits / events",
    "payment_attempts": "payments with a SUCCESS or FAILED status",
    "payment_success_rate": "successful / attempted payments",
    "rank": "1 = highest revenue (ties by SKU)",
    "sku": "product SKU",
    "units": "quantity sold in orders with a successful payment",
    "revenue_ngn": "quantity x unit price over those lines (NGN)",
    "device_type": "web|mobile (of the session's first event)",
    "sessions": "sessions started that day",
    "view_sessions": "sessions with a view",
    "cart_sessions": "sessions that reached add_to_cart after a view",
    "checkout_sessions": "sessions that reached checkout after the cart",
    "paid_sessions": "of those, sessions credited with a paid order",
    "view_to_cart": "cart_sessions / view_sessions",
    "cart_to_checkout": "checkout_sessions / cart_sessions",
    "checkout_to_paid": "paid_sessions / checkout_sessions",
    "view_to_paid": "paid_sessions / view_sessions",
    "anonymous_sessions": "sessions without a user id",
    "cohort_month": "month of the customers' first paid order",
    "months_since": "months after the cohort month (1..6)",
    "cohort_customers": "customers in the cohort",
}


def _described(table: Table) -> Table:
    """The table with every column described (its own words first, then KPI_COLUMN_NOTES)."""
    columns = tuple(
        c if c.description else Col(c.name, c.type, KPI_COLUMN_NOTES.get((table.name, c.name))
                                     or KPI_COLUMN_NOTES.get(c.name, ""), c.nullable)
        for c in table.columns
    )  # fmt: skip
    return replace(table, columns=columns)


KPIS = {name: _described(table) for name, table in KPIS.items()}
PLATFORM_KPIS = {name: KPIS[name] for name in PLATFORM_KPIS}

AUDIT_TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "revenue_snapshots",
            "each day's net revenue as reported by each run that changed it",
            (
                C("date", "DATE", nullable=False),
                C("run_id", "STRING", nullable=False),
                C("reported_at", "TIMESTAMP", nullable=False),
                C("gross_revenue_ngn", "FLOAT64"),
                C("refunds_ngn", "FLOAT64"),
                C("net_revenue_ngn", "FLOAT64"),
            ),
            key=("date", "run_id"),
        ),
        Table(
            "revenue_snapshot_events",
            "the payments and refunds behind each revenue snapshot (what a restatement changed)",
            (
                C("date", "DATE", nullable=False),
                C("run_id", "STRING", "the snapshot's run", False),
                C("event_id", "STRING", nullable=False),
                C("kind", "STRING", "payment or refund", False),
                C("amount_ngn", "FLOAT64", "its contribution to net revenue (refunds negative)"),
            ),
            key=("date", "run_id", "event_id"),
        ),
        Table(
            "kpi_restatements",
            "each change of an already-reported day's net revenue, with the events that caused it",
            (
                C("date", "DATE", nullable=False),
                C("kpi", "STRING", "the restated figure", False),
                C("run_id", "STRING", "the run that reported the new value", False),
                C("restated_at", "TIMESTAMP"),
                C("first_reported_ngn", "FLOAT64", "value as first reported"),
                C("first_run_id", "STRING"),
                C("before_ngn", "FLOAT64", "value reported just before"),
                C("now_ngn", "FLOAT64", "value this run reported"),
                C("delta_ngn", "FLOAT64", "now - before"),
                C("events_added", "INT64"),
                C("events_removed", "INT64"),
                C(
                    "event_ids",
                    "STRING",
                    "comma-separated: the events added (+), removed (-) or re-valued (~)",
                ),
                C("landed_days", "STRING", "ingestion days of the added events"),
                C("description", "STRING", "one line for people"),
            ),
            key=("date", "run_id"),
        ),
    )
}

BRONZE_IDS = C(
    "bronze_ids", "STRING", "comma-separated platform_raw _ids this row came from", False
)
SCD2 = (
    C("valid_from", "TIMESTAMP", "first instant this version was true", False),
    C("valid_to", "TIMESTAMP", "first instant it no longer was (null = still true)"),
    C("is_current", "BOOL", "the key's current version", False),
)

# Silver: the platform's own sources (SPEC §9), deduplicated, with history where it matters.
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
                C("price_ngn", "FLOAT64", "list price of this version"),
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
                C("unit_price_ngn", "FLOAT64", "price paid, never today's price"),
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

# Gold built from the platform sources beside the vendor facts. Behavioural data never feeds money.
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
                C("list_price_ngn", "FLOAT64"),
                *SCD2,
            ),
            key=("sku", "valid_from"),
        ),
        Table(
            "fact_platform_orders",
            "platform orders with their resolved status and purchase-price value",
            (
                C("order_id", "STRING", nullable=False),
                C("user_id", "STRING"),
                C("customer_email", "STRING", "normalized email of the user"),
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
                C("order_value_ngn", "FLOAT64", "sum of quantity x purchase price"),
            ),
            key=("order_id",),
            cluster=("order_id",),
            partition_by="order_date",
        ),
        Table(
            "fact_platform_order_items",
            "order lines with the catalog version valid when ordered",
            (
                C("order_id", "STRING", nullable=False),
                C("line_no", "INT64", "line number within the order", False),
                C("sku", "STRING", nullable=False),
                C("quantity", "FLOAT64"),
                C("unit_price_ngn", "FLOAT64", "purchase price"),
                C("line_value_ngn", "FLOAT64"),
                C("order_time", "TIMESTAMP"),
                C("product_version", "INT64", "dim_product_history version at order time"),
                C("category_at_order", "STRING"),
                C("list_price_at_order_ngn", "FLOAT64"),
            ),
            key=("order_id", "line_no"),
            cluster=("sku",),
            partition_by="order_time",
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
        ),
    )
}

ALL_TABLES: dict[str, Table] = {
    **STAGING,
    **FACTS,
    **KPIS,
    **AUDIT_TABLES,
    **SILVER,
    **PLATFORM_GOLD,
}
