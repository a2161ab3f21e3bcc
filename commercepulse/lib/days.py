"""Calendar helpers shared by landing, staging, sensors and the main job (UTC days)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def utc_now() -> datetime:
    """Now, truncated to milliseconds (BSON's precision) so stored and in-memory values agree."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def days_between(start: date, end: date) -> list[date]:
    """Every day of [start, end)."""
    return [start + timedelta(days=i) for i in range((end - start).days)]


def day_spans(start: date, end: date, days: int) -> list[tuple[date, date]]:
    """[start, end) cut into consecutive [first, last) spans of at most `days` days."""
    spans, first = [], start
    while first < end:
        spans.append((first, min(first + timedelta(days=days), end)))
        first = spans[-1][1]
    return spans


def contiguous_ranges(days: list[str], bridge: int = 1) -> list[tuple[str, str]]:
    """Sorted ISO days -> inclusive (first, last) spans; days at most `bridge` days apart share a
    span (1: consecutive days only). A range run costs a run's overhead (about a second), an
    extra empty day inside it a few milliseconds: bridging gaps keeps sparse history to few runs."""
    ranges: list[tuple[str, str]] = []
    for day in sorted(set(days)):
        if ranges and date.fromisoformat(day) - date.fromisoformat(ranges[-1][1]) <= timedelta(
            days=bridge
        ):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges
