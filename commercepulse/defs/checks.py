"""Asset checks from the library's rules (`checks/rules.py`, `platform/quality.py`).

One factory (`rule_check`) builds every check; each result carries its figure, threshold and
severity as metadata. Partitioned checks record one evaluation per partition, also when one
run covers a whole range (a single-run backfill): a rule is evaluated on the window and, where
it finds something, on halves of it down to single days, so the UI's partition view shows
Passed/Failed for each day at the cost of a few queries.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg

from commercepulse.checks.rules import ERROR, Outcome
from commercepulse.defs.deployment import DAILY, window_days
from commercepulse.defs.resources import MongoResource, PlatformSettings
from commercepulse.warehouse.base import Warehouse

DAY = timedelta(days=1)


@dataclass(frozen=True)
class RuleInputs:
    """What a rule may read: the raw store, the warehouse, the thresholds and the run."""

    mongo: MongoResource
    warehouse: Warehouse
    settings: PlatformSettings
    run_id: str


#: rule(inputs, start, end) -> Outcome over the business or ingestion days [start, end)
WindowRule = Callable[[RuleInputs, date, date], Outcome]


def severity(outcome: Outcome) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if outcome.severity == ERROR else dg.AssetCheckSeverity.WARN


def metadata(outcome: Outcome) -> dict:
    return {"figure": outcome.figure, "threshold": outcome.threshold, "severity": outcome.severity,
            **outcome.details}


def evaluation(outcome: Outcome, key: dg.AssetCheckKey, blocking: bool,
               partition: str | None = None) -> dg.AssetCheckEvaluation:
    """A check result for one partition (or none), in the form Dagster records per partition."""
    return dg.AssetCheckEvaluation(asset_key=key.asset_key, check_name=key.name, passed=outcome.passed,
                                   metadata=metadata(outcome), severity=severity(outcome), blocking=blocking,
                                   partition=partition, description=None if outcome.passed else outcome.why())


def outcomes_by_day(rule: Callable[[date, date], Outcome], start: date, end: date,
                    additive: bool) -> dict[date, Outcome]:
    """The rule's outcome for every day of [start, end).

    `additive` rules count findings (a window's figure is at least the sum of its days'), so a
    window whose figure is 0 proves every day of it clean; only windows with findings are split.
    Other rules (ratios) are evaluated day by day."""
    out: dict[date, Outcome] = {}

    def visit(lo: date, hi: date, outcome: Outcome | None = None) -> None:
        outcome = outcome or rule(lo, hi)
        days = (hi - lo).days
        if days == 1 or (additive and outcome.figure == 0):
            details = outcome.details if days == 1 else {**outcome.details, "evaluated_window": f"{lo}..{hi - DAY}"}
            for i in range(days):
                out[lo + i * DAY] = Outcome(outcome.name, outcome.passed, outcome.figure, outcome.threshold,
                                            outcome.severity, details)
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


def daily_evaluations(context: dg.AssetCheckExecutionContext | dg.AssetExecutionContext, rule: Callable[[date, date], Outcome],
                      key: dg.AssetCheckKey, blocking: bool, additive: bool = True) -> Iterator[dg.AssetCheckEvaluation]:
    """One evaluation per partition of the run."""
    start, end = window_days(context)
    for day, outcome in outcomes_by_day(rule, start, end, additive).items():
        yield evaluation(outcome, key, blocking, day.isoformat())


def rule_check(asset: dg.AssetsDefinition | str, name: str, rule: WindowRule, description: str, *,
               blocking: bool = False, partitioned: bool = True, additive: bool = True) -> dg.AssetChecksDefinition:
    """An asset check running `rule` per partition (partitioned) or once over all history."""
    asset_key = asset.key if isinstance(asset, dg.AssetsDefinition) else dg.AssetKey(asset)
    key = dg.AssetCheckKey(asset_key, name)

    @dg.asset_check(asset=asset, name=name, description=description, blocking=blocking,
                    partitions_def=DAILY if partitioned else None)
    def _check(context: dg.AssetCheckExecutionContext, mongo: MongoResource,
               warehouse: dg.ResourceParam[Warehouse], settings: PlatformSettings):
        inputs = RuleInputs(mongo, warehouse, settings, context.run.run_id)
        with warehouse.session():  # one connection for the many small queries of a range
            if partitioned:
                evaluations = list(daily_evaluations(context, lambda s, e: rule(inputs, s, e), key, blocking, additive))
            else:
                evaluations = [evaluation(rule(inputs, date.min, date.max), key, blocking)]
        yield from evaluations
        yield dg.Output(None)  # the check op's own output; the evaluations above are its results
    return _check
