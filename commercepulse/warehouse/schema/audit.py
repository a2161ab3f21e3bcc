"""Audit tables: what the platform reported and when (revenue snapshots, restatements, read
snapshots), and what analysts accepted (acknowledged restatements)."""

from __future__ import annotations

from commercepulse.warehouse.schema.base import C, Table

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
                C("gross_revenue_ngn", "MONEY"),
                C("refunds_ngn", "MONEY"),
                C("net_revenue_ngn", "MONEY"),
            ),
            key=("date", "run_id"),
        ),
        Table(
            "customer_key_salts",
            "the salt the pseudonymous customer keys are hashed under, by fingerprint only (a "
            "changed salt is refused until `commercepulse rekey-customers`)",
            (
                C("fingerprint", "STRING", "HMAC of a fixed text under the salt", False),
                C("recorded_at", "TIMESTAMP", "when the salt was first used here", False),
                C("rekeyed_keys", "INT64", "distinct keys re-hashed when it was recorded"),
            ),
            key=("recorded_at",),
        ),
        Table(
            "customer_key_changes",
            "work table of the last re-key: each old customer key and its new one",
            (
                C("old_key", "STRING", "a customer key before the re-key", False),
                C("new_key", "STRING", "the same customer's key after it"),
            ),
            key=("old_key",),
        ),
        Table(
            "revenue_snapshot_events",
            "the payments and refunds behind each revenue snapshot (what a restatement changed)",
            (
                C("date", "DATE", nullable=False),
                C("run_id", "STRING", "the snapshot's run", False),
                C("event_id", "STRING", nullable=False),
                C("kind", "STRING", "payment or refund", False),
                C("amount_ngn", "MONEY", "its contribution to net revenue (refunds negative)"),
            ),
            key=("date", "run_id", "event_id"),
        ),
        Table(
            "kpi_restatements",
            "each change of an already-published KPI value: every KPI and numeric column, with "
            "what landed for its day in between; net revenue also with the events behind it",
            (
                C("date", "DATE", nullable=False),
                C("kpi", "STRING", "the restated figure", False),
                C("run_id", "STRING", "the run that reported the new value", False),
                C("restated_at", "TIMESTAMP"),
                C("first_reported_ngn", "MONEY", "value as first reported"),
                C("first_run_id", "STRING"),
                C("before_ngn", "MONEY", "value reported just before"),
                C("now_ngn", "MONEY", "value this run reported"),
                C("delta_ngn", "MONEY", "now - before"),
                C("events_added", "INT64"),
                C("events_removed", "INT64"),
                C(
                    "event_ids",
                    "STRING",
                    "comma-separated: the events added (+), removed (-) or re-valued (~)",
                ),
                C("landed_days", "STRING", "ingestion days of the added events"),
                C("description", "STRING", "one line for people"),
                C("vendor", "STRING", "the row's vendor, for per-vendor KPIs"),
                C("row_key", "STRING", "the KPI row's key (kpi_history)"),
                C("column_name", "STRING", "the restated column"),
                C("first_value", "FLOAT64", "the column's value as first published"),
                C("before_value", "FLOAT64", "its value published just before"),
                C("now_value", "FLOAT64", "its value this run published"),
                C("delta", "FLOAT64", "now - before"),
                C(
                    "cause",
                    "STRING",
                    "what landed for the row's day between the two publications: new data of an "
                    "ingestion day, a quarantine replay, a mapping change, the dumps",
                ),
            ),
            key=("kpi", "row_key", "column_name", "run_id"),
            # every KPI recomputed by the refresh (their versions are in kpi_history)
            upstream=(
                "kpi_daily_revenue",
                "kpi_vendor_payment_success",
                "kpi_order_to_payment",
                "kpi_refund_rate",
                "kpi_top_products",
                "kpi_vendor_lateness",
                "kpi_daily_funnel",
                "kpi_aov",
                "kpi_retention",
            ),
        ),
        Table(
            "kpi_history",
            "every KPI row as published, append-only: a version is recorded when a row first "
            "appears, when any of its values changes and when it disappears; the version a row "
            "had at any moment is the newest one published by then",
            (
                C("kpi", "STRING", "the KPI table", False),
                C("row_key", "STRING", "the row's key values joined by '|' (day, vendor …)", False),
                C("date", "DATE", "the row's day (business or ingestion day; none for a ranking)"),
                C("vendor", "STRING", "the row's vendor, for per-vendor KPIs"),
                C("published_at", "TIMESTAMP", "when this version was published", False),
                C("run_id", "STRING", "the run that published it", False),
                C("removed", "BOOL", "the row disappeared from the KPI in this version", False),
                C(
                    "row_values",
                    "STRING",
                    "JSON: every column of the row as published",
                ),
                C("version_id", "STRING", "run, KPI and row key: unique", False),
            ),
            key=("kpi", "row_key", "published_at"),
        ),
        Table(
            "snapshot_info",
            "each read snapshot published after a refresh (DuckDB: a file under the snapshots "
            "folder; BigQuery: the dataset itself): the newest row is the snapshot you read",
            (
                C("snapshot_id", "STRING", "sortable: publication time (UTC) and run", False),
                C("published_at", "TIMESTAMP", "when the snapshot was published", False),
                C("refresh_run_id", "STRING", "the refresh run whose tables it holds", False),
                C(
                    "latest_landing_run_id",
                    "STRING",
                    "the newest landing before that refresh began",
                ),
                C("latest_landing_at", "TIMESTAMP", "when that landing was recorded"),
                C("latest_landing_partition", "STRING", "its ingestion day (or the dumps)"),
                C("latest_ingested_at", "TIMESTAMP", "the newest staged event's ingestion time"),
                C("last_business_day", "DATE", "the newest day of kpi_daily_revenue"),
                C("location", "STRING", "the snapshot file, or the BigQuery dataset"),
            ),
            key=("snapshot_id",),
        ),
        Table(
            "day_annotations",
            "an analyst's note that a day is expected to be unusual (a holiday, a vendor outage, "
            "a campaign): shown wherever the day is, and the day leaves the KPI baselines",
            (
                C("annotation_id", "STRING", "the day and scope, 'YYYY-MM-DD|scope'", False),
                C("date", "DATE", "the business day annotated", False),
                C("scope", "STRING", "'all' or the one vendor it concerns", False),
                C("note", "STRING", "what is unusual, in their words", False),
                C("annotated_by", "STRING", "who wrote it"),
                C("annotated_at", "TIMESTAMP", "when (UTC)", False),
                C("run_id", "STRING", "the run that recorded it (CLI or UI job)"),
            ),
            key=("annotation_id",),
        ),
        Table(
            "revenue_acknowledgements",
            "an analyst's acceptance of a day's restated net revenue: revenue_drift judges the "
            "day against the accepted value from then on",
            (
                C("date", "DATE", "the business day acknowledged", False),
                C("acknowledged_at", "TIMESTAMP", "when (UTC)", False),
                C("net_revenue_ngn", "MONEY", "the day's net revenue as accepted", False),
                C("acknowledged_by", "STRING", "who acknowledged it"),
                C("note", "STRING", "why, in their words"),
                C("run_id", "STRING", "the run that recorded it (CLI or UI job)"),
            ),
            key=("date", "acknowledged_at"),
        ),
    )
}
