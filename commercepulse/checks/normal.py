"""A data reality judged against its own normal: a WARN only when a day deviates from it.

SPEC expects some findings every day (several users share an e-mail, lifecycle records arrive
out of order, refunds of orders paid before the data window, orders without a CREATED record).
A count above zero would then be yellow every day and teach analysts to ignore yellow. Instead,
each day's count `found` among `base` (the day's refunds, orders, customers) is judged against
the rate of the previous CHECK_NORMAL_WINDOW_DAYS days that had any `base`:

- normal rate p = max(median of those days' rates, their pooled rate with one pseudo-finding
  added, so that none in the history still allows an occasional one), expected e = p x base;
- the band's top is the larger of the Poisson quantile of e at the one-sided tail of
  CHECK_NORMAL_Z_MAX standard deviations, and e + CHECK_NORMAL_Z_MAX x 1.4826 x MAD(rates) x base
  (days that vary more than counting noise widen their own band);
- a day is yellow when found > that top; with fewer than CHECK_NORMAL_MIN_HISTORY_DAYS such days
  before it, it is not judged (its figure is still shown).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from commercepulse.checks.outcome import SHOWN_ROWS, WARN, Outcome, Thresholds, as_date, shown_title
from commercepulse.checks.spec import RuleInputs
from commercepulse.lib.days import days_between

MAD_TO_SIGMA = 1.4826
DAY = timedelta(days=1)


def poisson_top(expected: float, z: float) -> int:
    """The largest count whose upper tail under Poisson(expected) is no rarer than a normal
    variable beyond z standard deviations (one-sided). Each term from its logarithm, so a large
    `expected` (whose first terms underflow) is summed right."""
    alpha = 0.5 * math.erfc(z / math.sqrt(2))
    lam = max(expected, 1e-12)
    cdf, k = 0.0, 0
    limit = int(lam + (z + 10) * math.sqrt(lam) + 50)
    while k < limit:
        cdf += math.exp(-lam + k * math.log(lam) - math.lgamma(k + 1))
        if 1.0 - cdf <= alpha:
            return k
        k += 1
    return limit


@dataclass(frozen=True)
class Judged:
    """One day against its normal."""

    found: int
    base: int
    normal_rate: float | None  # None: too little history to judge
    expected: float
    top: int
    history_days: int

    @property
    def judged(self) -> bool:
        return self.normal_rate is not None

    @property
    def passed(self) -> bool:
        return not self.judged or self.found <= self.top


def judge_days(counts: pd.DataFrame, days: list[date], settings: Thresholds) -> dict[date, Judged]:
    """`counts`: one row per day (`day`, `found`, `base`), any days before `days` included (the
    history). Every day of `days` judged against the days with base > 0 before it."""
    counts = counts.assign(day=[as_date(d) for d in counts["day"]])
    counts = counts[counts["base"] > 0].sort_values("day")
    known = dict(zip(counts["day"], zip(counts["found"], counts["base"], strict=True), strict=True))
    history_days = counts["day"].tolist()
    rates = (counts["found"] / counts["base"]).to_numpy(dtype="float64")
    found_all = counts["found"].to_numpy(dtype="float64")
    base_all = counts["base"].to_numpy(dtype="float64")
    window, z = settings.check_normal_window_days, settings.check_normal_z_max
    out = {}
    for day in days:
        found, base = (int(v) for v in known.get(day, (0, 0)))
        end = bisect.bisect_left(history_days, day)
        lo = max(0, end - window)
        past = rates[lo:end]
        if len(past) < settings.check_normal_min_history_days:
            out[day] = Judged(found, base, None, 0.0, 0, len(past))
            continue
        median = float(np.median(past))
        # one pseudo-finding: a normal of zero found in 28 days still allows an occasional one
        pooled = float((found_all[lo:end].sum() + 1) / (base_all[lo:end].sum() + 1))
        rate = max(median, pooled)
        expected = rate * base
        spread = MAD_TO_SIGMA * float(np.median(np.abs(past - median))) * base
        top = max(poisson_top(expected, z), math.floor(expected + z * spread))
        out[day] = Judged(found, base, rate, expected, top, len(past))
    return out


def sentence(j: Judged, base_words: str) -> str:
    """What the figure is against its normal, in words."""
    share = f"{j.found / j.base:.1%} of {j.base:,} {base_words}" if j.base else f"no {base_words}"
    if not j.judged:
        return f"{share} that day"
    return (
        f"{share} that day, against a normal of {j.normal_rate:.1%} ({j.expected:,.1f} expected, "
        f"up to {j.top:,}) over the previous {j.history_days} days that had {base_words}"
    )


@dataclass(frozen=True)
class NormalRule:
    """A per-day rule (a `DailyRule`) from one definition of its rows: `source` (a table, or a
    join: identifiers only, never values), each row's `day` (a DATE expression), the rows that
    count (`where`: the base) and those that are findings (`finding`). The day's counts and a
    yellow day's findings (`columns`, in `order`, then `shown`) are read with the same clauses,
    so the findings listed are exactly the ones counted."""

    name: str
    source: str
    day: str
    finding: str
    columns: str
    order: str
    base_words: str
    finding_words: str
    where: str = "TRUE"
    shown: Callable[[pd.DataFrame], pd.DataFrame] | None = None

    def counts(self, i: RuleInputs, end: date) -> pd.DataFrame:
        """(day, found, base) of every day before `end`."""
        return i.warehouse.query(
            f"""SELECT {self.day} AS day, count(*) AS base,
                       sum(CASE WHEN {self.finding} THEN 1 ELSE 0 END) AS found
                FROM {self.source} WHERE {self.where} AND {self.day} < $end GROUP BY 1""",
            {"end": end},
        )

    def findings(self, i: RuleInputs, start: date, end: date) -> pd.DataFrame:
        """The findings of the days [start, end), a few columns each."""
        found = i.warehouse.query(
            f"""SELECT {self.columns} FROM {self.source}
                WHERE {self.where} AND {self.finding}
                  AND {self.day} >= $start AND {self.day} < $end ORDER BY {self.order}""",
            {"start": start, "end": end},
        )
        return self.shown(found) if self.shown else found

    def __call__(self, i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
        judged = judge_days(self.counts(i, end), days_between(start, end), i.settings)
        return {day: self.outcome(i, day, j) for day, j in judged.items()}

    def outcome(self, i: RuleInputs, day: date, j: Judged) -> Outcome:
        rows, title = (), ""
        if not j.passed:  # a passing day shows its figure only
            found = self.findings(i, day, day + DAY)
            rows = tuple(found.head(SHOWN_ROWS).to_dict("records"))
            title = shown_title(self.finding_words, len(rows), len(found))
        return Outcome(
            self.name,
            j.passed,
            j.found,
            j.top if j.judged else 0,
            WARN,
            {
                self.base_words.replace(" ", "_"): j.base,
                "normal_rate": None if j.normal_rate is None else round(j.normal_rate, 6),
                "expected": round(j.expected, 3),
                "band_top": j.top if j.judged else None,
                "history_days": j.history_days,
            },
            note=sentence(j, self.base_words),
            unjudged=""
            if j.judged or not j.found
            else f"fewer than CHECK_NORMAL_MIN_HISTORY_DAYS days with {self.base_words} before "
            f"it ({j.history_days}) to know its normal",
            rows=rows,
            rows_title=title,
        )
