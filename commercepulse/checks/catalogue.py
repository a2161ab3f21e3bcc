"""Every data-quality check, once. Each rules module ends with its own rows (`ROWS`): the rule,
its description, asset, scope, calendar and whether it blocks. This module only lists them, in
the order the reports show them, beside the checks judged on the clock from the Dagster
instance (freshness, recovery), so a newcomer finds every check here and its whole definition
in the one file its row comes from.

The Dagster asset checks (`defs/asset_checks.py` builds one per row) and the daily reports
(`reports/writer.py` judges every row for every day) both read this table, so a check that is
registered is reported, and the two can never disagree. Dagster-free.
"""

from __future__ import annotations

from datetime import date

from commercepulse.checks import (
    fact_rules,
    finality_rules,
    platform_rules,
    raw_rules,
    revenue_rules,
)
from commercepulse.checks.anomalies import ROWS as FEED_ROWS
from commercepulse.checks.kpi_anomalies import ROWS as KPI_ANOMALY_ROWS
from commercepulse.checks.outcome import Outcome
from commercepulse.checks.spec import CLOCK, CheckSpec, RuleInputs
from commercepulse.lib.days import days_between

#: Judged from the Dagster instance by a sensor (and by hand from the UI); their verdicts live in
#: `defs/freshness/checks.py` and `defs/automation/recovery.py`. No day's report judges them.
CLOCK_ROWS = (
    CheckSpec(
        asset="events_raw",
        name="ingestion_freshness",
        description="The live ingestion days have landed: day D is expected by "
        "FRESHNESS_DEADLINE_HOUR (UTC) of D+1; fails while any of the last FRESHNESS_LOOKBACK_DAYS "
        "due days is missing, naming them (ERROR); the latest landed after its deadline is "
        "'late' (WARN). Judged on the clock by the freshness sensor.",
        scope=CLOCK,
    ),
    CheckSpec(
        asset="kpi_daily_revenue",
        name="refreshed_after_landing",
        description="The KPIs were refreshed after the last landing, or within KPI_FRESH_MINUTES "
        "of it (ERROR; judged on the clock by the freshness sensor).",
        scope=CLOCK,
    ),
    CheckSpec(
        asset="events_raw",
        name="automation_gave_up",
        description="Fails (ERROR) while a data file, business day, refresh or report has spent "
        "its attempts and automation stopped trying: names it, its runs and the last error. "
        "Passes once a later run of it succeeds (a re-execution from the UI counts). Judged by the "
        "run_recovery sensor; can be run by hand.",
        scope=CLOCK,
    ),
)

JUDGED: tuple[CheckSpec, ...] = (
    *raw_rules.ROWS[:3],  # duplicate and late rates, open quarantine
    *FEED_ROWS,
    *raw_rules.ROWS[3:],  # completeness, schema drift
    *fact_rules.ROWS[:3],  # payments without order, refunds without payment, over-refunds
    platform_rules.EMAIL_ROW,
    *fact_rules.ROWS[3:],  # key integrity of each fact, dim_date coverage
    *revenue_rules.ROWS,
    *KPI_ANOMALY_ROWS,
    *finality_rules.ROWS,
    *platform_rules.ROWS,
)
CHECKS: tuple[CheckSpec, ...] = (*JUDGED, *CLOCK_ROWS)

#: Names that several assets share are reported as `name:asset` (key_integrity:fact_orders).
_SHARED_NAMES = {c.name for c in CHECKS if sum(o.name == c.name for o in CHECKS) > 1}


def report_name(spec: CheckSpec) -> str:
    return f"{spec.name}:{spec.asset}" if spec.name in _SHARED_NAMES else spec.name


def checks_of(asset: str) -> list[CheckSpec]:
    """The judged checks of an asset (the clock checks are built beside their sensors)."""
    return [spec for spec in JUDGED if spec.asset == asset]


def row(key: str) -> CheckSpec:
    """The row of `asset:name`."""
    return next(spec for spec in CHECKS if spec.key == key)


def outcomes_for_days(inputs: RuleInputs, start: date, end: date) -> dict[date, list[Outcome]]:
    """Every judged check's outcome for every day of [start, end), named as the report names them."""
    out: dict[date, list[Outcome]] = {day: [] for day in days_between(start, end)}
    for spec in JUDGED:
        name = report_name(spec)
        for day, outcome in spec.daily(inputs, start, end).items():
            out[day].append(outcome.renamed(name))
    return out
