"""A rule's verdict per day of a window, and one verdict over many days (shared by the asset
checks and the daily reports)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

from commercepulse.checks.outcome import Outcome

DAY = timedelta(days=1)
FAILING_DAYS_SHOWN = 60


def outcomes_by_day(
    rule: Callable[[date, date], Outcome], start: date, end: date, additive: bool
) -> dict[date, Outcome]:
    """The rule's outcome for every day of [start, end).

    `additive` rules count findings (a window's findings are the sum of its days'), so a clean
    window proves every day of it clean, with the same (empty) details; only windows with
    findings are split. Counts that describe a window rather than findings (`window_only`)
    are left out of the days' details, so a day reads the same whatever window judged it. Other rules (ratios) are evaluated day by day."""
    out: dict[date, Outcome] = {}

    def visit(lo: date, hi: date) -> None:
        outcome = rule(lo, hi)
        days = (hi - lo).days
        if days == 1 or (additive and outcome.clean):
            if outcome.window_only:  # the same details for a day whatever window judged it
                details = {k: v for k, v in outcome.details.items() if k not in outcome.window_only}
                outcome = replace(outcome, details=details, window_only=())
            for i in range(days):
                out[lo + i * DAY] = outcome
            return
        mid = lo + (days // 2) * DAY
        visit(lo, mid)
        visit(mid, hi)

    if not additive:
        for i in range((end - start).days):
            day = start + i * DAY
            out[day] = rule(day, day + DAY)
        return out
    visit(start, end)
    return out


def history_outcome(per_day: dict[date, Outcome], whole: Outcome | None = None) -> Outcome:
    """One verdict over every day: passed when every day passed; the figure is the rule's own
    figure over the whole window (`whole`, when given: distinct findings), else the sum of the
    failing days' figures (of every day's counts when all passed: a count judged against its
    normal passes with findings); the failing days (and each one's figure and details) are listed, and
    `whole` adds its details as `all_days`."""
    failing = {day: o for day, o in sorted(per_day.items()) if not o.passed}
    sample = next(iter(per_day.values()))
    overall = {"all_days": whole.details} if whole is not None and whole.details else {}
    # the findings listed: the whole window's, else those of the first failing day
    listed = whole if whole is not None else next((o for o in failing.values()), sample)
    found = {
        "rows": listed.rows,
        "rows_title": listed.rows_title,
        "note": listed.note,
        "what": listed.what,
        "action": listed.action,
    }
    if not failing:  # the figure: findings within their normal still count
        counts = [o.figure for o in per_day.values()]
        total = sum(counts) if all(isinstance(c, int) for c in counts) else 0
        return Outcome(
            sample.name,
            True,
            whole.figure if whole is not None else total,
            sample.threshold,
            sample.severity,
            {"days_evaluated": len(per_day), **overall},
            **(found if whole is not None else {}),
        )
    first = next(iter(failing.values()))
    # The rule over the whole window counts each finding once (an order touched on three days is
    # one over-refunded order); without it, the failing days' figures add up.
    total = whole.figure if whole is not None else sum(o.figure for o in failing.values())
    shown = list(failing.items())[:FAILING_DAYS_SHOWN]
    return Outcome(
        first.name,
        False,
        round(total, 6) if isinstance(total, float) else total,
        first.threshold,
        first.severity,
        {
            "days_failing": len(failing),
            "days_evaluated": len(per_day),
            "failing_days": [d.isoformat() for d, _ in shown],
            "figure_per_failing_day": {d.isoformat(): o.figure for d, o in shown},
            "first_failing_day": {"day": shown[0][0].isoformat(), **first.details},
            **overall,
        },
        **found,
    )
