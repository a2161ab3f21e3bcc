"""Freshness checks on the live stream (`events_raw:ingestion_freshness`) and the KPIs
(`kpi_daily_revenue:refreshed_after_landing`), judged from the instance's materializations.

They belong to no job: the `freshness` sensor judges them on the clock (a day that never
arrives has no run to judge it) and records a result when a verdict changes; each can also be
run by hand from the UI. Both are ERROR, so the alert sensor posts them.
"""

from datetime import UTC, date, datetime

import dagster as dg

from commercepulse.checks.catalogue import row
from commercepulse.defs.instance_queries import (
    KPI_REVENUE,
    latest_materialization,
    materialization_records,
)
from commercepulse.defs.partitions import INGESTION_DAILY
from commercepulse.defs.resources import ProjectSettings
from commercepulse.freshness import (
    Verdict,
    due_day,
    due_days,
    ingestion_freshness,
    kpi_freshness,
)

LANDING = "events_raw"
INGESTION_KEY = dg.AssetCheckKey(dg.AssetKey(LANDING), "ingestion_freshness")
KPI_KEY = dg.AssetCheckKey(dg.AssetKey(KPI_REVENUE), "refreshed_after_landing")


def _when(record: dg.EventLogRecord | None) -> datetime | None:
    return datetime.fromtimestamp(record.timestamp, UTC) if record else None


def first_landings(instance: dg.DagsterInstance, days: list[str]) -> dict[str, datetime]:
    """{ingestion day: when it first landed} for those of `days` that have landed."""
    if not days:
        return {}
    records = materialization_records(
        instance,
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(LANDING), asset_partitions=days),
    )
    first: dict[str, datetime] = {}
    for record in records:  # oldest first
        if record.partition_key and record.partition_key not in first:
            first[record.partition_key] = datetime.fromtimestamp(record.timestamp, UTC)
    return first


def judged_days(settings: ProjectSettings, now: datetime) -> list[date]:
    """The due ingestion days the check judges now, oldest first."""
    return due_days(
        now,
        settings.freshness_deadline_hour,
        INGESTION_DAILY.start.date(),
        settings.freshness_lookback_days,
    )


def ingestion_verdict(
    instance: dg.DagsterInstance, settings: ProjectSettings, now: datetime
) -> Verdict:
    """The latest due day's verdict, failing too while a judged day before it, on or after the
    stream's first landed day, has not landed (before any landing: the latest due day only)."""
    # a day before the stream's first landed day is not missing: the stream had not started
    started = min(instance.get_materialized_partitions(dg.AssetKey(LANDING)), default=None)
    days = [d for d in judged_days(settings, now) if started and d.isoformat() >= started]
    landed = first_landings(instance, [day.isoformat() for day in days])
    latest = due_day(now, settings.freshness_deadline_hour).isoformat()
    return ingestion_freshness(
        now,
        settings.freshness_deadline_hour,
        landed.get(latest),
        INGESTION_DAILY.start.date(),
        [day for day in days if day.isoformat() not in landed],
    )


def kpi_verdict(instance: dg.DagsterInstance, settings: ProjectSettings, now: datetime) -> Verdict:
    return kpi_freshness(
        now,
        settings.kpi_fresh_minutes,
        _when(latest_materialization(instance, LANDING)),
        _when(latest_materialization(instance, KPI_REVENUE)),
    )


#: check key -> how its verdict is read from the instance
VERDICTS = {INGESTION_KEY: ingestion_verdict, KPI_KEY: kpi_verdict}


def evaluation(key: dg.AssetCheckKey, verdict: Verdict) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity(verdict.severity),
        description=verdict.description,
        metadata=verdict.details,
    )


def _result(verdict: Verdict) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity(verdict.severity),
        description=verdict.description,
        metadata=verdict.details,
    )


#: check key -> its description, from its catalogue row
DESCRIPTIONS = {key: row(key.to_user_string()).description for key in VERDICTS}


def _clock_check(key: dg.AssetCheckKey) -> dg.AssetChecksDefinition:
    """The check as a user runs it by hand: the same verdict the sensor records."""

    @dg.asset_check(asset=key.asset_key, name=key.name, description=DESCRIPTIONS[key])
    def _check(
        context: dg.AssetCheckExecutionContext, settings: ProjectSettings
    ) -> dg.AssetCheckResult:
        return _result(VERDICTS[key](context.instance, settings, datetime.now(UTC)))

    return _check


FRESHNESS_CHECKS = [_clock_check(key) for key in VERDICTS]
