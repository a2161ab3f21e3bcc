"""Freshness rules: is the live stream's latest due day in, and are the KPIs current after it?

Dagster-free: the times come in as arguments (the sensor and the checks read them from the
instance). An ingestion day D is due at FRESHNESS_DEADLINE_HOUR (UTC) of D+1: its file holds
what was ingested during D, so it cannot be complete before D ends. The KPIs are fresh when they
were refreshed after the last landing, or the last landing is less than KPI_FRESH_MINUTES old
(the refresh that follows a landing is on its way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class Verdict:
    """A freshness check's result: passed, one line, the figures behind it, and how serious a
    failure is (ERROR: a day missing or KPIs stale; WARN: a day that landed, but late)."""

    passed: bool
    description: str
    details: dict = field(default_factory=dict)
    severity: str = "ERROR"


def deadline_of(day: date, deadline_hour: int) -> datetime:
    """When ingestion day `day` is due: its next day at `deadline_hour` UTC."""
    return datetime.combine(day + timedelta(days=1), time(deadline_hour), tzinfo=UTC)


def due_day(now: datetime, deadline_hour: int) -> date:
    """The latest ingestion day whose deadline has passed at `now`."""
    today = now.astimezone(UTC).date()
    return today - timedelta(
        days=1 if now >= deadline_of(today - timedelta(days=1), deadline_hour) else 2
    )


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"


def due_days(now: datetime, deadline_hour: int, first_day: date, lookback: int) -> list[date]:
    """The last `lookback` ingestion days due at `now` (none before the stream's first day),
    oldest first: the days the freshness check judges one by one."""
    last = due_day(now, deadline_hour)
    days = [last - timedelta(days=back) for back in range(lookback - 1, -1, -1)]
    return [day for day in days if day >= first_day]


def day_freshness(
    day: date, now: datetime, deadline_hour: int, landed_at: datetime | None
) -> Verdict:
    """One due ingestion day: landed (on time, or how late), or overdue (how long)."""
    deadline = deadline_of(day, deadline_hour)
    details = {"ingestion_day": day.isoformat(), "deadline": deadline.isoformat()}
    if landed_at is None:
        return Verdict(
            False,
            f"ingestion day {day} is overdue: expected by {deadline:%Y-%m-%d %H:%M} UTC, "
            f"not landed {_hours(now - deadline)} later (DATA_DIR/live_events/{day}/events.jsonl)",
            details,
        )
    details["landed_at"] = landed_at.isoformat()
    late = landed_at - deadline
    if late > timedelta(0):
        details["late_by_hours"] = round(late.total_seconds() / 3600, 1)
        return Verdict(
            False,
            f"ingestion day {day} landed late, {_hours(late)} after its deadline",
            details,
            severity="WARN",
        )
    return Verdict(True, f"ingestion day {day} landed on time", details)


def ingestion_freshness(
    now: datetime,
    deadline_hour: int,
    landed_at: datetime | None,
    first_day: date,
    overdue_before: list[date] | None = None,
) -> Verdict:
    """The latest due ingestion day: landed (on time or late, said), or overdue; with the earlier
    judged days still overdue (`overdue_before`) named, so the summary hides none."""
    day = due_day(now, deadline_hour)
    if day < first_day:
        details = {"ingestion_day": day.isoformat()}
        return Verdict(True, f"no ingestion day due yet (the stream starts {first_day})", details)
    verdict = day_freshness(day, now, deadline_hour, landed_at)
    earlier = sorted(d.isoformat() for d in overdue_before or [] if d < day)
    if not earlier:
        return verdict
    shown = ", ".join(earlier[-5:]) + (f" and {len(earlier) - 5} more" if len(earlier) > 5 else "")
    return Verdict(
        False,
        f"{verdict.description}; {len(earlier)} earlier day(s) overdue: {shown}",
        {**verdict.details, "overdue_days": earlier},
    )


def kpi_freshness(
    now: datetime,
    fresh_minutes: int,
    last_landing: datetime | None,
    last_refresh: datetime | None,
) -> Verdict:
    """KPIs refreshed after the last landing, or within `fresh_minutes` of it."""
    details = {
        "last_landing": last_landing.isoformat() if last_landing else None,
        "last_refresh": last_refresh.isoformat() if last_refresh else None,
        "fresh_minutes": fresh_minutes,
    }
    if last_landing is None:
        return Verdict(True, "nothing landed yet", details)
    if last_refresh is not None and last_refresh >= last_landing:
        minutes = (last_refresh - last_landing).total_seconds() / 60
        return Verdict(True, f"refreshed {minutes:.1f} min after the last landing", details)
    waited = (now - last_landing).total_seconds() / 60
    if waited <= fresh_minutes:
        return Verdict(
            True, f"the last landing is {waited:.1f} min old: its refresh is due", details
        )
    return Verdict(
        False,
        f"KPIs not refreshed {waited:.0f} min after the last landing at "
        f"{last_landing:%Y-%m-%d %H:%M} UTC (KPI_FRESH_MINUTES={fresh_minutes})",
        details,
    )
