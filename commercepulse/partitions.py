"""The daily partitions (UTC): ingestion days for raw landing, business days for analytics."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import dagster as dg

from commercepulse.settings import get_settings

DAILY = dg.DailyPartitionsDefinition(start_date=get_settings().partitions_start, end_offset=1, timezone="UTC")
SINGLE_RUN = dg.BackfillPolicy.single_run()


def window_days(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """[start, end) of the run's partition window (one day, or a whole single-run backfill)."""
    window = context.partition_time_window
    return window.start.date(), window.end.date()


def utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]
