"""The KPI tables (whole history): the vendor KPIs and the platform KPIs."""

from __future__ import annotations

from commercepulse.warehouse.schema.base import C, Table
from commercepulse.warehouse.schema.staging import EVENT_TABLES

_VENDOR_KPIS: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "kpi_daily_revenue",
            "cash-basis revenue per UTC day (NGN)",
            (
                C("date", "DATE", nullable=False),
                C("gross_revenue_ngn", "MONEY"),
                C("refunds_ngn", "MONEY"),
                C("net_revenue_ngn", "MONEY"),
                C(
                    "is_final",
                    "BOOL",
                    "final: no vendor's measured lateness expects more data for it",
                ),
            ),
            key=("date",),
            upstream=("kpi_vendor_lateness", "fact_payments", "fact_refunds"),
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
                C(
                    "is_final",
                    "BOOL",
                    "final: the vendor's measured lateness expects no more data for it",
                ),
            ),
            key=("date", "vendor"),
            upstream=(
                "kpi_vendor_lateness",
                "fact_payments",
            ),
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
                C(
                    "is_final",
                    "BOOL",
                    "final: the vendor's measured lateness expects no more data for it",
                ),
            ),
            key=("date", "vendor"),
            upstream=(
                "kpi_vendor_lateness",
                "fact_orders",
            ),
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
                C(
                    "is_final",
                    "BOOL",
                    "final: no vendor's measured lateness expects more data for it",
                ),
            ),
            key=("date",),
            upstream=("kpi_vendor_lateness", "fact_orders", "kpi_daily_revenue"),
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
            upstream=("vendor_feed_daily",),
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
            "kpi_vendor_lateness",
            "each vendor's measured lateness and the last business day it makes final",
            (
                C("vendor", "STRING", nullable=False),
                C("event_days", "INT64", "event days in the window (each with its last arrival)"),
                C("lag_quantile", "FLOAT64", "FINAL_LAG_QUANTILE"),
                C(
                    "lag_hours",
                    "FLOAT64",
                    "that quantile, over the window's event days, of the hours between a day's "
                    "end and the arrival of its last event (0 when none arrives after its day)",
                ),
                C("watermark", "TIMESTAMP", "the vendor's newest live event's ingestion time"),
                C(
                    "final_through",
                    "DATE",
                    "the last business day whose end + lag_hours is not after the watermark",
                ),
                C("window_days", "INT64", "FINAL_LAG_WINDOW_DAYS: days before the watermark read"),
            ),
            key=("vendor",),
            upstream=EVENT_TABLES,
        ),
        Table(
            "kpi_top_products",
            "SKUs by revenue over orders with a successful payment",
            (
                C("rank", "INT64", nullable=False),
                C("sku", "STRING", nullable=False),
                C("units", "FLOAT64"),
                C("revenue_ngn", "MONEY"),
            ),
            key=("rank",),
            upstream=("fact_orders", "stg_order_items", "stg_orders"),
        ),
    )
}

_PLATFORM_KPIS: dict[str, Table] = {
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
            upstream=("fact_sessions",),
        ),
        Table(
            "kpi_aov",
            "average order value: successful payments per paid order (and a net-of-refunds variant), per payment day and vendor",
            (
                C("date", "DATE", nullable=False),
                C("vendor", "STRING", nullable=False),
                C("paid_orders", "INT64", "distinct orders with a successful payment that day"),
                C("gross_revenue_ngn", "MONEY"),
                C("refunds_ngn", "MONEY"),
                C("net_revenue_ngn", "MONEY"),
                C(
                    "aov_ngn",
                    "MONEY",
                    "successful payments / paid orders (SPEC §9; null without paid orders)",
                ),
                C(
                    "net_aov_ngn",
                    "MONEY",
                    "net revenue (payments - refunds of the day) / paid orders",
                ),
                C(
                    "is_final",
                    "BOOL",
                    "final: the vendor's measured lateness expects no more data for it",
                ),
            ),
            key=("date", "vendor"),
            upstream=("kpi_vendor_lateness", "fact_payments", "fact_refunds"),
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
            upstream=("fact_orders",),
        ),
    )
}

#: Every KPI table, vendor and platform (their columns described in `notes.py`, once).
KPIS: dict[str, Table] = {**_VENDOR_KPIS, **_PLATFORM_KPIS}
PLATFORM_KPIS_NAMES = tuple(_PLATFORM_KPIS)
