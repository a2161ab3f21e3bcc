"""Rules on the platform's own sources: behavioural duplicates and anonymous events per
ingestion day, SCD2 windows, orders whose status went backwards, customers sharing an email,
platform orders without a CREATED record. The file ends with their catalogue rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd

from commercepulse.checks.normal import NormalRule
from commercepulse.checks.outcome import ERROR, WARN, Outcome, Thresholds
from commercepulse.checks.spec import (
    INGESTION,
    PER_DAY,
    CheckSpec,
    DailyRule,
    RuleInputs,
    WindowRule,
)
from commercepulse.lib.days import days_between
from commercepulse.lib.privacy import mask_personal
from commercepulse.warehouse.base import Warehouse

#: SCD2 tables and the entity key their versions belong to.
SCD2_TABLES = {
    "silver_users": "user_id",
    "silver_products": "product_id",
    "dim_product_history": "sku",
}

_FIRST_SEEN = "first_ingestion_day >= $start AND first_ingestion_day < $end"
_COUNTS = """count(*) AS events, coalesce(sum(copies), 0) AS records,
             count(CASE WHEN user_id IS NULL THEN 1 END) AS anonymous"""


def _events_in_window(wh: Warehouse, start: date, end: date) -> tuple[int, int, int]:
    """(distinct events, Bronze records, anonymous events) first seen in [start, end)."""
    row = wh.query(
        f"SELECT {_COUNTS} FROM silver_behaviour_events WHERE {_FIRST_SEEN}",
        {"start": start, "end": end},
    ).iloc[0]
    return int(row["events"]), int(row["records"]), int(row["anonymous"])


def _events_by_day(wh: Warehouse, start: date, end: date) -> dict[date, tuple[int, int, int]]:
    """The same counts for every day of [start, end), from one grouped read (a report of a year
    judged each day with its own query: 730 queries for the two rules below)."""
    frame = wh.query(
        f"""SELECT first_ingestion_day AS day, {_COUNTS} FROM silver_behaviour_events
            WHERE {_FIRST_SEEN} GROUP BY first_ingestion_day""",
        {"start": start, "end": end},
    )
    counts = {
        pd.Timestamp(day).date(): (int(events), int(records), int(anonymous))
        for day, events, records, anonymous in zip(
            frame["day"], frame["events"], frame["records"], frame["anonymous"], strict=True
        )
    }
    return {day: counts.get(day, (0, 0, 0)) for day in days_between(start, end)}


def _duplicate_outcome(counts: tuple[int, int, int], settings: Thresholds) -> Outcome:
    events, records, _ = counts
    figure = round((records - events) / records, 6) if records else 0.0
    return Outcome(
        "duplicate_behaviour_events",
        figure <= settings.check_behaviour_duplicate_rate_max,
        figure,
        settings.check_behaviour_duplicate_rate_max,
        WARN,
        {"bronze_records": records, "distinct_events": events, "duplicates": records - events},
        unjudged="" if records else "no behavioural record first ingested that day",
    )


def _anonymous_outcome(counts: tuple[int, int, int], settings: Thresholds) -> Outcome:
    events, _, anonymous = counts
    figure = round(anonymous / events, 6) if events else 0.0
    return Outcome(
        "anonymous_event_share",
        figure <= settings.check_anonymous_share_max,
        figure,
        settings.check_anonymous_share_max,
        WARN,
        {"events": events, "anonymous_events": anonymous},
        unjudged="" if events else "no behavioural event first ingested that day",
    )


def duplicate_behaviour_events(i: RuleInputs, start: date, end: date) -> Outcome:
    """Bronze behavioural records repeating an event_id / records, for events first seen in the window."""
    return _duplicate_outcome(_events_in_window(i.warehouse, start, end), i.settings)


def _judged_by_day(
    outcome: Callable[[tuple[int, int, int], Thresholds], Outcome],
) -> DailyRule:
    """`outcome` of every day of a window, from one read of the counts."""

    def daily(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
        counts = _events_by_day(i.warehouse, start, end)
        return {day: outcome(day_counts, i.settings) for day, day_counts in counts.items()}

    return daily


#: `duplicate_behaviour_events` of every day of a window, from one read.
duplicate_behaviour_events_by_day = _judged_by_day(_duplicate_outcome)


def anonymous_event_share(i: RuleInputs, start: date, end: date) -> Outcome:
    """Distinct behavioural events without user_id / events, for events first seen in the window."""
    return _anonymous_outcome(_events_in_window(i.warehouse, start, end), i.settings)


#: `anonymous_event_share` of every day of a window, from one read.
anonymous_event_share_by_day = _judged_by_day(_anonymous_outcome)


def scd2_integrity(table: str) -> WindowRule:
    """The scd2_integrity rule of one SCD2 table (the whole table, whatever the window)."""

    def rule(i: RuleInputs, start: date, end: date) -> Outcome:
        return judge_scd2(i.warehouse, table)

    return rule


def judge_scd2(wh: Warehouse, table: str) -> Outcome:
    """Per key: no overlapping or gapped validity windows, exactly one current row (ERROR)."""
    key = SCD2_TABLES[table]
    row = wh.query(f"""
        WITH v AS (SELECT {key} AS k, valid_from, valid_to, is_current,
                          lead(valid_from) OVER (PARTITION BY {key} ORDER BY valid_from) AS next_from
                   FROM {table}),
        per_key AS (SELECT k, count(CASE WHEN is_current THEN 1 END) AS current_rows FROM v GROUP BY k)
        SELECT (SELECT count(*) FROM v WHERE next_from IS NOT NULL AND (valid_to IS NULL OR valid_to > next_from))
                 AS overlapping,
               (SELECT count(*) FROM v WHERE next_from IS NOT NULL AND valid_to < next_from) AS gaps,
               (SELECT count(*) FROM v WHERE valid_to IS NOT NULL AND valid_to <= valid_from) AS empty_windows,
               (SELECT count(*) FROM v WHERE is_current <> (valid_to IS NULL)) AS current_flag_mismatch,
               (SELECT count(*) FROM per_key WHERE current_rows <> 1) AS keys_without_one_current,
               (SELECT count(*) FROM per_key) AS keys""").iloc[0]
    details = {k: int(v) for k, v in row.items()}
    bad = sum(v for k, v in details.items() if k != "keys")
    return Outcome("scd2_integrity", bad == 0, bad, 0, ERROR, details)


def _masked(found: pd.DataFrame) -> pd.DataFrame:
    """The shared e-mails masked (SPEC §10: no personal data in check metadata or reports)."""
    return found.assign(email=found["email"].map(mask_personal))


#: Platform orders (by the day of their first lifecycle record) whose status went back to an
#: earlier stage (e.g. PAID after SHIPPED), judged against their normal share.
order_status_backwards = NormalRule(
    name="order_status_backwards",
    source="silver_orders",
    day="CAST(first_status_time AS DATE)",
    finding="status_went_backwards",
    columns="order_id, status, cancelled_after_payment",
    order="order_id",
    base_words="orders",
    finding_words="backwards order",
)
#: Vendor customers (by the day of their first order) whose normalized e-mail several platform
#: users share (linked to the earliest), judged against their normal share.
customer_email_conflicts = NormalRule(
    name="customer_email_conflicts",
    source="dim_customer",
    day="CAST(first_seen AS DATE)",
    where="email_norm IS NOT NULL",
    finding="linked_users > 1",
    columns="email_norm AS email, user_id AS linked_user, linked_users AS users",
    order="email_norm, customer_key",
    shown=_masked,
    base_words="customers with an e-mail",
    finding_words="customer on a shared e-mail",
)
#: Platform orders (by their creation day) with no CREATED lifecycle record, judged against their
#: normal share: created_at is then taken from their lines (or earliest lifecycle record).
orders_without_created = NormalRule(
    name="orders_without_created",
    source="fact_platform_orders",
    day="CAST(created_at AS DATE)",
    finding="created_from <> 'CREATED'",
    columns="order_id, created_from, status IS NULL AS known_only_from_lines",
    order="order_id",
    base_words="platform orders",
    finding_words="CREATED-less platform order",
)


#: Where the catalogue lists them: the email check beside the vendor checks, the rest after
#: the revenue check (see `checks/catalogue.py`).
EMAIL_ROW = CheckSpec(
    asset="dim_customer",
    name="customer_email_conflicts",
    what="customer(s) whose e-mail several platform users share, above their normal",
    action="see which users share these e-mails now (a sign-up or import bug?); the earliest user "
    "is linked meanwhile",
    description="Customers first seen that day whose normalized email several platform users "
    "share (the earliest is linked), judged against their normal share of the day's customers "
    "(WARN when above its band).",
    by_day=customer_email_conflicts,
)
ROWS = (
    CheckSpec(
        asset="silver_behaviour_events",
        name="duplicate_behaviour_events",
        what="repeated records / records",
        action="nothing, if the tracker re-sends by design; else check the tracker",
        description="Repeated behavioural records / records, for events first ingested that day "
        "(WARN).",
        rule=duplicate_behaviour_events,
        by_day=duplicate_behaviour_events_by_day,
        scope=PER_DAY,
        calendar=INGESTION,
        additive=False,
    ),
    CheckSpec(
        asset="silver_behaviour_events",
        name="anonymous_event_share",
        what="anonymous events / events",
        action="check the tracker sends user ids for signed-in users",
        description="Behavioural events without user_id / events, first ingested that day (WARN).",
        rule=anonymous_event_share,
        by_day=anonymous_event_share_by_day,
        scope=PER_DAY,
        calendar=INGESTION,
        additive=False,
    ),
    CheckSpec(
        asset="silver_orders",
        name="order_status_backwards",
        what="order(s) whose status went back to an earlier stage, above their normal",
        action="check the order and timestamps of the lifecycle feed's records for these orders",
        description="Orders (by their first lifecycle day) whose status went back to an earlier "
        "stage, judged against their normal share of the day's orders (WARN when above its band).",
        by_day=order_status_backwards,
    ),
    CheckSpec(
        asset="fact_platform_orders",
        name="orders_without_created",
        what="platform order(s) without a CREATED record, above their normal",
        action="ask for the missing CREATED records; created_at comes from the lines meanwhile",
        description="Platform orders (by creation day) without a CREATED record (created_at taken "
        "from their lines or earliest status), judged against their normal share of the day's "
        "orders (WARN when above its band).",
        by_day=orders_without_created,
    ),
    *(
        CheckSpec(
            asset=table,
            name="scd2_integrity",
            what="overlapping, gapped or extra current version(s)",
            action="rebuild the table (its asset); if it stays, the SCD2 builder has a bug",
            description="No overlapping or gapped validity windows, exactly one current row per "
            "key (ERROR, blocking).",
            rule=scd2_integrity(table),
            blocking=True,
            windowed=False,
        )
        for table in SCD2_TABLES
    ),
)
