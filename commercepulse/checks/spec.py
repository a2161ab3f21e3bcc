"""A check, as the catalogue holds it: what a rule may read (`RuleInputs`), the one signature of
every rule, and a catalogue row (`CheckSpec`). Dagster-free."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from pymongo.database import Database

from commercepulse.checks.outcome import Outcome, Thresholds
from commercepulse.checks.windows import outcomes_by_day
from commercepulse.lib.days import days_between
from commercepulse.warehouse.base import Warehouse

PER_DAY, HISTORY = "per_day", "history"  # a result per partition / one over the whole history
#: judged from the Dagster instance on the clock by a sensor (freshness, recovery): no rule here
CLOCK = "clock"
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


@dataclass(frozen=True, kw_only=True)
class CheckSpec:
    """One check. `windowed=False`: the rule judges the whole table whatever the window;
    `additive`: a window's findings are the sum of its days' (clean windows are not split);
    `by_day`: every day's outcome at once; `reads`: other assets the rule reads; `what`: what
    the figure counts, in words, and `action`: what to do when it fails (the one sentence a
    failing check explains itself with, in the UI and the report)."""

    asset: str
    name: str
    description: str
    rule: WindowRule | None = None
    scope: str = HISTORY
    calendar: str = BUSINESS
    by_day: DailyRule | None = None
    blocking: bool = False
    additive: bool = True
    windowed: bool = True
    reads: tuple[str, ...] = ()
    what: str = ""
    action: str = ""

    @property
    def key(self) -> str:
        return f"{self.asset}:{self.name}"

    def judge(self, inputs: RuleInputs, start: date, end: date) -> Outcome:
        """The rule over [start, end) (the whole table when not windowed)."""
        if self.rule is None:
            raise ValueError(f"{self.key} has no window rule, only a per-day one")
        return self.worded(
            self.rule(inputs, start, end)
            if self.windowed
            else self.rule(inputs, date.min, date.max)
        )

    def daily(self, inputs: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
        """The outcome of every day of [start, end)."""
        if self.by_day is not None:
            return {day: self.worded(o) for day, o in self.by_day(inputs, start, end).items()}
        if not self.windowed:
            whole = self.judge(inputs, start, end)
            return dict.fromkeys(days_between(start, end), whole)
        judged = outcomes_by_day(lambda s, e: self.rule(inputs, s, e), start, end, self.additive)
        return {day: self.worded(o) for day, o in judged.items()}

    def worded(self, outcome: Outcome) -> Outcome:
        """The outcome with this check's words (what the figure counts, what to do)."""
        return replace(
            outcome, what=outcome.what or self.what, action=outcome.action or self.action
        )
