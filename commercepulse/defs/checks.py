"""Asset checks from the library's rules (`checks/rules.py`, `platform/quality.py`).

One factory (`rule_check`) builds every check; each result carries its figure, threshold and
severity as metadata. Two scopes:

- `PER_DAY`: a partitioned check (ingestion-day checks of small landing runs): one result per
  partition of the run, also when one run covers a range (a single-run backfill).
- `HISTORY`: an unpartitioned check over every day of the calendar, run after its asset changes
  (automation condition) or by `refresh_job`; the failing days and their figures are in its
  metadata. Business-day facts are rebuilt for hundreds of days in one run, and Dagster stores a
  check result per partition of a run at ~10 ms each: these checks stay out of those runs (the
  business-day job selects no checks), so a year's backfill does not write thousands of results.

Dagster plans a check once per partition of any partitioned run that includes it (a UI
backfill that selects the asset with its checks); a `HISTORY` check in such a run therefore
records a result for each of those partitions, so no execution is ever left planned.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg

from commercepulse.checks.rules import ERROR, Outcome
from commercepulse.checks.windows import history_outcome, outcomes_by_day
from commercepulse.defs.check_targets import latest_materializations
from commercepulse.defs.deployment import DAILY, history_window, run_partition_keys
from commercepulse.defs.resources import MongoResource, PlatformSettings
from commercepulse.defs.retries import mongo_retries
from commercepulse.warehouse.base import Warehouse

DAY = timedelta(days=1)
PER_DAY, HISTORY = "per_day", "history"
#: Re-run a history check when its asset changed (any partition; missing partitions are normal).
AFTER_ASSET_UPDATE = (
    dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .with_label("after_asset_update")
)


@dataclass(frozen=True)
class RuleInputs:
    """What a rule may read: the raw store, the warehouse, the thresholds and the run."""

    mongo: MongoResource
    warehouse: Warehouse
    settings: PlatformSettings
    run_id: str


#: rule(inputs, start, end) -> Outcome over the business or ingestion days [start, end)
WindowRule = Callable[[RuleInputs, date, date], Outcome]
#: rule(inputs, start, end) -> {day: Outcome} for every day of [start, end)
DailyRule = Callable[[RuleInputs, date, date], dict[date, Outcome]]


def severity(outcome: Outcome) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if outcome.severity == ERROR else dg.AssetCheckSeverity.WARN


def metadata(outcome: Outcome) -> dict:
    return {
        "figure": outcome.figure,
        "threshold": outcome.threshold,
        "severity": outcome.severity,
        **outcome.details,
    }


def evaluation(
    outcome: Outcome,
    key: dg.AssetCheckKey,
    blocking: bool,
    partition: str | None = None,
    target=None,
) -> dg.AssetCheckEvaluation:
    """A check result for one partition (or none), linked to the materialization it judged (`target`)."""
    return dg.AssetCheckEvaluation(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=outcome.passed,
        metadata=metadata(outcome),
        severity=severity(outcome),
        blocking=blocking,
        partition=partition,
        description=None if outcome.passed else outcome.why(),
        target_materialization_data=target,
    )


def rule_check(
    asset: dg.AssetsDefinition | str,
    name: str,
    rule: WindowRule | None,
    description: str,
    *,
    blocking: bool = False,
    scope: str = HISTORY,
    windowed: bool = True,
    additive: bool = True,
    by_day: DailyRule | None = None,
    reads: Sequence[str] = (),
    calendar: dg.PartitionsDefinition = DAILY,
) -> dg.AssetChecksDefinition:
    """An asset check running `rule` per partition (`PER_DAY`) or over all history (`HISTORY`).

    `windowed=False`: the rule judges the whole table whatever the window (SCD2, email links).
    `by_day`: the rule computes every day's outcome at once (instead of `rule` per window).
    `reads`: other assets the rule reads (the check runs after them in a run that builds them).
    `calendar`: the partitions of a `PER_DAY` check (its asset's: business or ingestion days)."""
    if scope == HISTORY and windowed and not additive and by_day is None:
        raise ValueError(f"{name}: a history check over days needs an additive rule")
    asset_key = asset.key if isinstance(asset, dg.AssetsDefinition) else dg.AssetKey(asset)
    key = dg.AssetCheckKey(asset_key, name)

    @dg.asset_check(
        asset=asset,
        name=name,
        description=description,
        blocking=blocking,
        additional_deps=list(reads),
        partitions_def=calendar if scope == PER_DAY else None,
        automation_condition=AFTER_ASSET_UPDATE if scope == HISTORY else None,
    )
    def _check(
        context: dg.AssetCheckExecutionContext,
        mongo: MongoResource,
        warehouse: dg.ResourceParam[Warehouse],
        settings: PlatformSettings,
    ):
        inputs = RuleInputs(mongo, warehouse, settings, context.run.run_id)

        def on(start: date, end: date) -> Outcome:
            return rule(inputs, start, end)

        def daily(start: date, end: date) -> dict[date, Outcome]:
            return (
                by_day(inputs, start, end) if by_day else outcomes_by_day(on, start, end, additive)
            )

        days = run_partition_keys(context.run)
        with (
            mongo_retries(context),
            warehouse.session(),
        ):  # one connection for the many small queries
            if days:  # a partitioned run: one result for each partition Dagster planned
                first, end = date.fromisoformat(days[0]), date.fromisoformat(days[-1]) + DAY
                if windowed:
                    per_day = daily(first, end)
                else:
                    whole = on(date.min, date.max)
                    per_day = {date.fromisoformat(d): whole for d in days}
                targets = (
                    latest_materializations(context.instance, key.asset_key, days)
                    if scope == PER_DAY
                    else {}
                )
                evaluations = [
                    evaluation(per_day[date.fromisoformat(d)], key, blocking, d, targets.get(d))
                    for d in days
                ]
            else:
                if not windowed:
                    outcome = on(date.min, date.max)
                else:
                    window = history_window()
                    outcome = history_outcome(daily(*window), None if rule is None else on(*window))
                evaluations = [evaluation(outcome, key, blocking)]
        yield from evaluations
        yield dg.Output(None)  # the check op's own output; the evaluations above are its results

    return _check
