"""Every data-quality check, once: asset, rule, per-day variant, scope, calendar, blocking.

The Dagster asset checks (`defs/checks.py` builds one per row) and the daily reports
(`reports/writer.py` judges every row for every day) both read this table, so a check that is
registered is reported, and the two can never disagree. Dagster-free: a rule reads the raw
store, the warehouse and the thresholds through `RuleInputs`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from pymongo.database import Database

from commercepulse.checks import rules
from commercepulse.checks.anomalies import feed_outcomes
from commercepulse.checks.rules import Outcome, Thresholds
from commercepulse.checks.windows import outcomes_by_day
from commercepulse.days import days_between
from commercepulse.platform import quality
from commercepulse.warehouse.base import Warehouse

PER_DAY, HISTORY = "per_day", "history"  # a result per partition / one over the whole history
BUSINESS, INGESTION = "business", "ingestion"  # the calendar of a check's days
DAY = timedelta(days=1)


@dataclass(frozen=True)
class RuleInputs:
    """What a rule may read: the raw store (opened on first use), the warehouse, the thresholds,
    and the run that judges (None outside Dagster)."""

    db: Callable[[], Database]
    warehouse: Warehouse
    settings: Thresholds
    run_id: str | None = None


#: rule(inputs, start, end) -> Outcome over the days [start, end)
WindowRule = Callable[[RuleInputs, date, date], Outcome]
#: rule(inputs, start, end) -> {day: Outcome} for every day of [start, end)
DailyRule = Callable[[RuleInputs, date, date], dict[date, Outcome]]


@dataclass(frozen=True)
class CheckSpec:
    """One check. `windowed=False`: the rule judges the whole table whatever the window;
    `additive`: a window's findings are the sum of its days' (clean windows are not split);
    `by_day`: every day's outcome at once; `reads`: other assets the rule reads."""

    asset: str
    name: str
    description: str
    rule: WindowRule | None
    scope: str = HISTORY
    calendar: str = BUSINESS
    by_day: DailyRule | None = None
    blocking: bool = False
    additive: bool = True
    windowed: bool = True
    reads: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.asset}:{self.name}"

    def judge(self, inputs: RuleInputs, start: date, end: date) -> Outcome:
        """The rule over [start, end) (the whole table when not windowed)."""
        if self.rule is None:
            raise ValueError(f"{self.key} has no window rule, only a per-day one")
        return (
            self.rule(inputs, start, end)
            if self.windowed
            else self.rule(inputs, date.min, date.max)
        )

    def daily(self, inputs: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
        """The outcome of every day of [start, end)."""
        if self.by_day is not None:
            return self.by_day(inputs, start, end)
        if not self.windowed:
            whole = self.judge(inputs, start, end)
            return dict.fromkeys(days_between(start, end), whole)
        return outcomes_by_day(lambda s, e: self.rule(inputs, s, e), start, end, self.additive)


# -- named adapters: a rule's own arguments from RuleInputs --------------------------------------
def _ingestion_rates(rule: Callable) -> DailyRule:
    """Duplicate and late rates of every ingestion day from one read of kpi_late_arrivals."""

    def by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
        stats = rules.late_arrival_rows(i.warehouse, start, end)
        return {
            day: rule(
                i.warehouse,
                day,
                day + DAY,
                i.settings,
                stats[stats["ingestion_date"] == pd.Timestamp(day)],
            )
            for day in days_between(start, end)
        }

    return by_day


def _duplicate_event_rate(i: RuleInputs, start: date, end: date) -> Outcome:
    return rules.duplicate_event_rate(i.warehouse, start, end, i.settings)


def _late_arriving_pct(i: RuleInputs, start: date, end: date) -> Outcome:
    return rules.late_arriving_pct(i.warehouse, start, end, i.settings)


def _quarantine_open(i: RuleInputs, start: date, end: date) -> Outcome:
    return rules.quarantine_open(i.db(), i.settings)


def _quarantine_open_by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    return rules.quarantine_open_by_day(i.db(), start, end, i.settings)


def _completeness_by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    return rules.completeness_by_day(i.db(), i.warehouse, start, end)


def _schema_drift(i: RuleInputs, start: date, end: date) -> Outcome:
    return rules.schema_drift(i.warehouse, start, end, i.settings)


def _payments_without_order(i: RuleInputs, start: date, end: date) -> Outcome:
    return rules.payments_without_order(i.warehouse, start, end, i.settings)


def _payments_without_order_by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    return rules.payments_without_order_by_day(i.warehouse, start, end, i.settings)


def _refunds_without_payment(i: RuleInputs, start: date, end: date) -> Outcome:
    return rules.refunds_without_payment(i.warehouse, start, end, i.settings)


def _refunds_without_payment_by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    return rules.refunds_without_payment_by_day(i.warehouse, start, end, i.settings)


def _over_refunded_orders(i: RuleInputs, start: date, end: date) -> Outcome:
    return rules.over_refunded_orders(i.warehouse, start, end, i.settings)


def _key_integrity(table: str) -> WindowRule:
    def rule(i: RuleInputs, start: date, end: date) -> Outcome:
        return rules.key_integrity(i.warehouse, table, start, end)

    return rule


def _dim_date_coverage(i: RuleInputs, start: date, end: date) -> Outcome:
    return rules.dim_date_coverage(i.warehouse)


def _revenue_drift(i: RuleInputs, start: date, end: date) -> Outcome:
    return rules.revenue_drift(i.warehouse, i.settings, run_id=i.run_id)


def _revenue_drift_by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    """Each day's own restatement against its materiality limit (the daily report's view)."""
    changed = rules.revenue_restatements(i.warehouse, i.settings)
    of_day = {r.date.date(): r for r in changed.itertuples()}
    floor = i.settings.check_revenue_drift_floor_ngn
    out = {}
    for day in days_between(start, end):
        row = of_day.get(day)
        figure, limit = (float(row.drift), float(row.limit)) if row is not None else (0.0, floor)
        out[day] = Outcome("revenue_drift", abs(figure) <= limit, figure, limit, rules.WARN,
                           {"materiality": rules.materiality(i.settings)})  # fmt: skip
    return out


def _vendor_feed_anomalies(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    return feed_outcomes(i.warehouse, start, end, i.settings)


def _customer_email_conflicts(i: RuleInputs, start: date, end: date) -> Outcome:
    return quality.customer_email_conflicts(i.warehouse, i.settings)


def _duplicate_behaviour_events(i: RuleInputs, start: date, end: date) -> Outcome:
    return quality.duplicate_behaviour_events(i.warehouse, start, end, i.settings)


def _anonymous_event_share(i: RuleInputs, start: date, end: date) -> Outcome:
    return quality.anonymous_event_share(i.warehouse, start, end, i.settings)


def _duplicate_behaviour_events_by_day(
    i: RuleInputs, start: date, end: date
) -> dict[date, Outcome]:
    return quality.duplicate_behaviour_events_by_day(i.warehouse, start, end, i.settings)


def _anonymous_event_share_by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    return quality.anonymous_event_share_by_day(i.warehouse, start, end, i.settings)


def _order_status_backwards(i: RuleInputs, start: date, end: date) -> Outcome:
    return quality.order_status_backwards(i.warehouse, i.settings)


def _orders_without_created(i: RuleInputs, start: date, end: date) -> Outcome:
    return quality.orders_without_created(i.warehouse, i.settings)


def _scd2_integrity(table: str) -> WindowRule:
    def rule(i: RuleInputs, start: date, end: date) -> Outcome:
        return quality.scd2_integrity(i.warehouse, table)

    return rule


FACT_TABLES = ("fact_orders", "fact_payments", "fact_refunds", "fact_shipments", "fact_order_daily")
SCD2 = ("silver_users", "silver_products", "dim_product_history")

CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("events_raw", "duplicate_event_rate",
              "Lines repeating an already-landed event id / valid lines, per ingestion day (figures of "
              "kpi_late_arrivals; WARN).",
              _duplicate_event_rate, PER_DAY, INGESTION, by_day=_ingestion_rates(rules.duplicate_event_rate),
              additive=False, reads=("kpi_late_arrivals",)),
    CheckSpec("events_raw", "late_arriving_pct",
              "Late events / distinct live events first landed, per ingestion day (figures of "
              "kpi_late_arrivals; WARN).",
              _late_arriving_pct, PER_DAY, INGESTION, by_day=_ingestion_rates(rules.late_arriving_pct),
              additive=False, reads=("kpi_late_arrivals",)),
    CheckSpec("events_raw", "quarantine_open",
              "Lines in events_quarantine not landed since, by reason, with the first records (file:line, "
              "vendor, reason, text; WARN). Fix the file or the parser, then `commercepulse quarantine "
              "replay`. A day's report lists the lines of its own files.",
              _quarantine_open, by_day=_quarantine_open_by_day, windowed=False),
    CheckSpec("vendor_feed_daily", "vendor_feed_anomalies",
              "Vendor days far from the vendor's own trailing history (robust z over median and MAD of "
              "the last CHECK_FEED_WINDOW_DAYS days), and payloads that bring a new key or lose a "
              "usual one against the same days (WARN).",
              None, PER_DAY, INGESTION, by_day=_vendor_feed_anomalies),
    CheckSpec("stg_unmapped", "completeness",
              "Raw events of each business day = staged events + unmapped rows (ERROR, blocking).",
              None, by_day=_completeness_by_day, blocking=True),
    CheckSpec("stg_unmapped", "schema_drift",
              "Records no vendor shape fits (schema drift), with their unknown keys (WARN).", _schema_drift),
    CheckSpec("fact_payments", "payments_without_order",
              "Successful payments whose order id has no order_created event anywhere, classified: "
              "unknown order id, order before the data window (within CHECK_ORPHAN_EDGE_DAYS of the "
              "source's first order), true orphan; true orphans are judged (WARN).",
              _payments_without_order, by_day=_payments_without_order_by_day),
    CheckSpec("fact_refunds", "refunds_without_payment", "Refunds of orders with no successful payment (WARN).",
              _refunds_without_payment, by_day=_refunds_without_payment_by_day),
    CheckSpec("fact_orders", "over_refunded_orders",
              "Paid orders refunded beyond what was paid, in the original currency (ERROR finding, not "
              "blocking).", _over_refunded_orders),
    CheckSpec("dim_customer", "customer_email_conflicts",
              "Customers whose normalized email several platform users share; the earliest is linked (WARN).",
              _customer_email_conflicts, windowed=False),
    # dim_customer is rebuilt with the facts; dim_date after them (its own check below)
    *(CheckSpec(table, "key_integrity",
                f"Unique non-null keys of {table} (ERROR, blocking); order and customer orphans reported.",
                _key_integrity(table), blocking=True,
                reads=("dim_customer",) if table == "fact_orders" else ())
      for table in FACT_TABLES),
    CheckSpec("dim_date", "covers_fact_dates",
              "Every date a fact carries (order, payment, refund, shipment, daily) is a dim_date row "
              "(ERROR finding, not blocking).", _dim_date_coverage, windowed=False),
    CheckSpec("kpi_daily_revenue", "revenue_drift",
              "Days whose net revenue was restated beyond materiality (max of CHECK_REVENUE_DRIFT_FLOOR_NGN "
              "and CHECK_REVENUE_DRIFT_MAX_SHARE of the day's reported net; WARN). Every restatement is in "
              "kpi_restatements.",
              _revenue_drift, by_day=_revenue_drift_by_day, windowed=False),
    CheckSpec("silver_behaviour_events", "duplicate_behaviour_events",
              "Repeated behavioural records / records, for events first ingested that day (WARN).",
              _duplicate_behaviour_events, PER_DAY, INGESTION, additive=False,
              by_day=_duplicate_behaviour_events_by_day),
    CheckSpec("silver_behaviour_events", "anonymous_event_share",
              "Behavioural events without user_id / events, first ingested that day (WARN).",
              _anonymous_event_share, PER_DAY, INGESTION, additive=False,
              by_day=_anonymous_event_share_by_day),
    CheckSpec("silver_orders", "order_status_backwards",
              "Orders whose status went back to an earlier stage; cancellations after payment counted (WARN).",
              _order_status_backwards, windowed=False),
    CheckSpec("fact_platform_orders", "orders_without_created",
              "Platform orders without a CREATED record: created_at taken from their lines or earliest "
              "status; orders known only from their lines counted (WARN).",
              _orders_without_created, windowed=False),
    *(CheckSpec(table, "scd2_integrity",
                "No overlapping or gapped validity windows, exactly one current row per key (ERROR, blocking).",
                _scd2_integrity(table), blocking=True, windowed=False)
      for table in SCD2),
)  # fmt: skip

#: Names that several assets share are reported as `name:asset` (key_integrity:fact_orders).
_SHARED_NAMES = {c.name for c in CHECKS if sum(o.name == c.name for o in CHECKS) > 1}


def report_name(spec: CheckSpec) -> str:
    return f"{spec.name}:{spec.asset}" if spec.name in _SHARED_NAMES else spec.name


def checks_of(asset: str) -> list[CheckSpec]:
    return [spec for spec in CHECKS if spec.asset == asset]


def outcomes_for_days(inputs: RuleInputs, start: date, end: date) -> dict[date, list[Outcome]]:
    """Every check's outcome for every day of [start, end), named as the report names them."""
    out: dict[date, list[Outcome]] = {day: [] for day in days_between(start, end)}
    for spec in CHECKS:
        name = report_name(spec)
        for day, outcome in spec.daily(inputs, start, end).items():
            out[day].append(outcome.renamed(name))
    return out
