"""What every rule returns (`Outcome`) and the small helpers rules share: the window's query
parameters, a count, the findings of each day of a window, how many findings are shown."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from commercepulse.lib.days import days_between
from commercepulse.lib.privacy import mask_personal
from commercepulse.settings import CheckThresholds
from commercepulse.warehouse.base import Warehouse

WARN, ERROR = "WARN", "ERROR"
#: Findings listed in a check's metadata and the report (the count says how many there are).
SHOWN_ROWS = 20

#: What the rules read of the configuration: the settings' thresholds (also the fields of the
#: Dagster `ProjectSettings` resource, which subclasses it).
Thresholds = CheckThresholds


@dataclass
class Outcome:
    """A rule's verdict on a window."""

    name: str
    passed: bool
    figure: float | int
    threshold: float | int
    severity: str
    details: dict[str, Any] = field(default_factory=dict)
    #: detail keys that describe the window as a whole (counts that are not findings): not
    #: copied to the days of a clean window
    window_only: tuple[str, ...] = ()
    #: what was found, in words, appended to `why()` (e.g. the restatement lines)
    note: str = ""
    #: why nothing was judged (no lines that day, no vendor with enough history); "" = judged
    unjudged: str = ""
    #: the findings themselves, a few columns each (shown as a table in the UI and the report)
    rows: tuple[dict[str, Any], ...] = ()
    #: what `rows` are, said above the table ("first 20 of 143 open records")
    rows_title: str = ""
    #: what the figure counts, in words ("refunds of orders with no successful payment")
    what: str = ""
    #: what to do about a failure, in words
    action: str = ""

    @property
    def clean(self) -> bool:
        """Nothing found: every day of the window has figure 0."""
        return self.figure == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "passed": self.passed,
            "figure": self.figure,
            "threshold": self.threshold,
            "severity": self.severity,
            **({"details": self.details} if self.details else {}),
            **({"judged": False, "not_judged_because": self.unjudged} if self.unjudged else {}),
            **({"rows": list(self.rows), "rows_title": self.rows_title} if self.rows else {}),
            **({"explanation": self.why()} if not self.passed else {}),
            **({"action": self.action} if self.action and not self.passed else {}),
        }

    def masked(self) -> Outcome:
        """The verdict as it may be shown: every e-mail and phone in its findings masked."""
        return replace(
            self,
            details=mask_personal(self.details),
            note=mask_personal(self.note),
            rows=mask_personal(self.rows),
            rows_title=mask_personal(self.rows_title),
        )

    def renamed(self, name: str) -> Outcome:
        """The same verdict under another name (`key_integrity:fact_orders` in a report)."""
        return replace(self, name=name)

    def description(self) -> str | None:
        """What the UI shows beside the verdict: why it failed, or that there was nothing to judge."""
        if not self.passed:
            return self.advice()
        return f"nothing judged: {self.unjudged}" if self.unjudged else None

    def why(self) -> str:
        """One sentence for people: what was found and how many, against its threshold (and on
        how many days), with what was found in words."""
        days = self.details.get("days_failing")
        return (
            (f"{self.figure} {self.what}" if self.what else f"{self.figure}")
            + f" (threshold {self.threshold})"
            + (f" on {days} day(s)" if days else "")
            + (f": {self.note}" if self.note else "")
        )

    def advice(self) -> str | None:
        """The failure's sentence and what to do about it (None when it passed)."""
        if self.passed:
            return None
        return self.why() + (f". What to do: {self.action}" if self.action else "")


def window(start: date, end: date) -> dict[str, date]:
    """The query parameters of the days [start, end)."""
    return {"start": start, "end": end}


def ratio_rule(name: str, numerator: str, denominator: str, stats, threshold: float) -> Outcome:
    num, den = int(stats[numerator].sum()), int(stats[denominator].sum())
    figure = round(num / den, 6) if den else 0.0
    per_day = {
        str(r.ingestion_date.date()): {
            numerator: int(getattr(r, numerator)),
            denominator: int(getattr(r, denominator)),
        }
        for r in stats.itertuples()
    }
    return Outcome(
        name,
        figure <= threshold,
        figure,
        threshold,
        WARN,
        {numerator: num, denominator: den, "per_ingestion_day": per_day},
        unjudged="" if den else f"no {denominator.replace('_', ' ')} landed that day",
    )


def by_day(rows, start: date, end: date, outcome) -> dict[date, Outcome]:
    """`outcome(rows of the day)` for every day of [start, end) from the window's finding rows."""
    groups: dict[date, list[int]] = {}
    for position, day in enumerate(rows["event_date"]):
        groups.setdefault(as_date(day), []).append(position)
    clean = outcome(rows.iloc[0:0])
    return {
        day: outcome(rows.iloc[groups[day]]) if day in groups else clean
        for day in days_between(start, end)
    }


def as_date(value) -> date:
    return value.date() if hasattr(value, "date") else value


def count(wh: Warehouse, sql: str, params: dict | None = None) -> int:
    return int(
        wh.query(sql, {k: v for k, v in (params or {}).items() if f"${k}" in sql})["n"].iat[0]
    )


def shown_title(what: str, shown: int, total: int) -> str:
    return f"{what}s ({shown})" if shown == total else f"first {shown} of {total} {what}s"
