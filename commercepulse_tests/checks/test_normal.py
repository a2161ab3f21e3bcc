"""Realities SPEC expects every day are judged against their own normal (checks/normal.py): a
steady share of findings is never yellow, one unusual day is the only yellow one, and it
explains itself with its findings."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from commercepulse.checks.catalogue import row
from commercepulse.checks.normal import judge_days, poisson_top
from commercepulse.checks.windows import history_outcome
from commercepulse.settings import Settings
from commercepulse_tests.harness import rule_inputs, warehouse_of

FIRST = date(2025, 3, 1)
DAYS = 45


def poisson_tail(lam: float, k: int) -> float:
    """P(X > k) for X ~ Poisson(lam), computed directly."""
    if lam == 0:
        return 0.0
    terms = (math.exp(-lam + i * math.log(lam) - math.lgamma(i + 1)) for i in range(k + 1))
    return 1.0 - sum(terms)


@pytest.mark.parametrize("lam", [0.0, 0.02, 0.7, 3.0, 25.0, 140.0, 2500.0])
def test_the_band_top_is_the_first_count_as_rare_as_z_sigmas(lam):
    z = Settings().check_normal_z_max
    alpha = 0.5 * math.erfc(z / math.sqrt(2))
    top = poisson_top(lam, z)
    assert poisson_tail(lam, top) <= alpha + 1e-12
    assert top == 0 or poisson_tail(lam, top - 1) > alpha


def simulated(seed: int, unusual: int | None) -> pd.DataFrame:
    """DAYS days of a steady share of findings among a varying base (binomial draws), and on day
    `unusual` (when given) a share ten times the normal one plus a handful."""
    rng = np.random.default_rng(seed)
    share = rng.uniform(0.0, 0.12)
    base = rng.integers(3, 400, size=DAYS)
    found = rng.binomial(base, share)
    if unusual is not None:
        found[unusual] = min(base[unusual], int(base[unusual] * share * 10) + 8)
    days = [FIRST + timedelta(days=i) for i in range(DAYS)]
    return pd.DataFrame({"day": days, "found": found, "base": base})


@pytest.mark.parametrize("seed", range(25))
def test_a_steady_share_is_never_yellow_and_one_unusual_day_is_the_only_one(seed):
    settings = Settings()
    days = [FIRST + timedelta(days=i) for i in range(DAYS)]
    steady = judge_days(simulated(seed, None), days, settings)
    assert all(j.passed for j in steady.values())
    # judged once the history holds CHECK_NORMAL_MIN_HISTORY_DAYS days
    assert [j.judged for j in steady.values()].index(True) == settings.check_normal_min_history_days
    unusual = 10 + seed % 30
    judged = judge_days(simulated(seed, unusual), days, settings)
    assert [d for d, j in judged.items() if not j.passed] == [days[unusual]]


def test_the_judgement_ignores_the_order_rows_come_in_and_days_without_a_base():
    settings = Settings()
    counts = simulated(7, 20)
    days = sorted(counts["day"])
    empty = pd.DataFrame({"day": [FIRST - timedelta(days=5)], "found": [0], "base": [0]})
    shuffled = pd.concat([counts.sample(frac=1, random_state=3), empty])
    assert judge_days(shuffled, days, settings) == judge_days(counts, days, settings)


def refunds_world(env, unusual: date) -> None:
    """Forty-five days of refunds, about one in twenty of an order never paid (paid before the data
    window), and on `unusual` eight unpaid ones among twelve."""
    rng = np.random.default_rng(11)
    refunds, payments = [], []
    for i in range(DAYS):
        day = FIRST + timedelta(days=i)
        count = 12 if day == unusual else int(rng.integers(8, 30))
        for n in range(count):
            order = f"O-{day:%m%d}-{n}"
            unpaid = n < 8 if day == unusual else rng.random() < 0.05
            when = datetime.combine(day, datetime.min.time()) + timedelta(hours=10)
            refunds.append((f"r-{order}", "vendor_a", order, when, day))
            if not unpaid:
                payments.append((f"p-{order}", "vendor_a", order, when, day, "SUCCESS"))
    common = {"ingested_at": datetime(2025, 5, 1), "is_late": False, "source_kind": "live"}
    wh = warehouse_of(env)
    wh.replace_table(
        "stg_refunds",
        pd.DataFrame(
            refunds, columns=["event_id", "vendor", "order_id", "refund_time", "event_date"]
        ).assign(event_time=lambda f: f["refund_time"], lists_items=False, **common),
    )
    wh.replace_table(
        "stg_payments",
        pd.DataFrame(
            payments,
            columns=["event_id", "vendor", "order_id", "paid_time", "event_date", "status"],
        ).assign(event_time=lambda f: f["paid_time"], **common),
    )
    return wh


def test_refunds_without_payment_is_yellow_on_the_unusual_day_only_and_says_why(env):
    unusual = FIRST + timedelta(days=30)
    wh = refunds_world(env, unusual)
    spec = row("fact_refunds:refunds_without_payment")
    per_day = spec.daily(rule_inputs(None, wh, env), FIRST, FIRST + timedelta(days=DAYS))
    assert [d for d, o in per_day.items() if not o.passed] == [unusual]
    yellow = per_day[unusual]
    assert yellow.figure == 8 and yellow.details["refunds"] == 12
    assert [r["order_id"] for r in yellow.rows] == [f"O-{unusual:%m%d}-{n}" for n in range(8)]
    said = yellow.advice()
    assert said.startswith(f"8 {spec.what} (threshold {yellow.threshold})")
    assert "66.7% of 12 refunds that day, against a normal of" in said
    assert f"What to do: {spec.action}" in said
    # passing days show their figure only, with their normal
    calm = per_day[unusual - timedelta(days=1)]
    assert calm.passed and not calm.rows and calm.details["normal_rate"] is not None
    # the whole-history verdict names that day alone
    whole = history_outcome(per_day)
    assert not whole.passed and whole.details["failing_days"] == [unusual.isoformat()]
