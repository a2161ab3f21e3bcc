"""Asset checks from the check catalogue (`checks/catalogue.py`: one row per check, also read by
the daily reports).

One factory (`asset_checks`) builds a domain's checks; each result carries its figure, threshold
and severity as metadata. Two scopes:

- `PER_DAY`: a partitioned check (ingestion-day checks of small landing runs): one result per
  partition of the run, also when one run covers a range (a single-run backfill).
- `HISTORY`: an unpartitioned check over every day of the calendar, run by `refresh_job` after its
  asset changes (sensor `refresh_whole_history`); the failing days and their figures are in its
  metadata. Business-day facts are rebuilt for hundreds of days in one run, and Dagster stores a
  check result per partition of a run at ~10 ms each: these checks stay out of those runs (the
  business-day job selects no checks), so a year's backfill does not write thousands of results.

Dagster plans a check once per partition of any partitioned run that includes it (a UI
backfill that selects the asset with its checks); a `HISTORY` check in such a run therefore
records a result for each of those partitions, so no execution is ever left planned.
"""

from datetime import date, timedelta

import dagster as dg

from commercepulse.checks.catalogue import CHECKS, checks_of
from commercepulse.checks.outcome import ERROR, Outcome
from commercepulse.checks.spec import HISTORY, INGESTION, PER_DAY, CheckSpec, RuleInputs
from commercepulse.checks.windows import history_outcome
from commercepulse.defs.check_targets import latest_materializations, latest_of_asset
from commercepulse.defs.metadata import md_table
from commercepulse.defs.partitions import DAILY, INGESTION_DAILY, history_window, run_partition_keys
from commercepulse.defs.resources import MongoResource, ProjectSettings
from commercepulse.defs.retries import mongo_retries
from commercepulse.warehouse.base import Warehouse

DAY = timedelta(days=1)
CALENDARS = {INGESTION: INGESTION_DAILY}


def severity(outcome: Outcome) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if outcome.severity == ERROR else dg.AssetCheckSeverity.WARN


def metadata(outcome: Outcome) -> dict:
    """Figure, threshold, severity, the rule's details, and its findings as a table."""
    found = (
        {"findings": md_table(list(outcome.rows[0]), (r.values() for r in outcome.rows),
                              outcome.rows_title)}
        if outcome.rows and not outcome.passed  # a passing check shows its figure only
        else {}
    )  # fmt: skip
    return {
        "figure": outcome.figure,
        "threshold": outcome.threshold,
        "severity": outcome.severity,
        **outcome.details,
        **found,
    }


def evaluation(
    outcome: Outcome,
    key: dg.AssetCheckKey,
    blocking: bool,
    partition: str | None = None,
    target=None,
    whole_table: bool = False,
) -> dg.AssetCheckEvaluation:
    """A check result for one partition (or none), linked to the materialization it judged
    (`target`). `whole_table`: a verdict on all history recorded under a partition (a run over
    partitions planned the check there), and said so. Shown in the UI: masked."""
    outcome = outcome.masked()
    description = outcome.description()
    if whole_table and partition is not None:
        said = f"judged over all history, not only partition {partition}"
        description = f"{said}: {description}" if description else said
    return dg.AssetCheckEvaluation(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=outcome.passed,
        metadata=metadata(outcome),
        severity=severity(outcome),
        blocking=blocking,
        partition=partition,
        description=description,
        target_materialization_data=target,
    )


def rule_check(
    spec: CheckSpec, asset: dg.AssetsDefinition | str | None = None
) -> dg.AssetChecksDefinition:
    """The asset check of a catalogue row: per partition (`PER_DAY`) or over all history (`HISTORY`).
    `asset`: the asset definition when the domain holds it (else the key in the catalogue)."""
    if spec.scope == HISTORY and spec.windowed and not spec.additive and spec.by_day is None:
        raise ValueError(f"{spec.key}: a history check over days needs an additive rule")
    target = asset if asset is not None else spec.asset
    key = dg.AssetCheckKey(dg.AssetKey(spec.asset), spec.name)

    @dg.asset_check(
        asset=target,
        name=spec.name,
        description=spec.description,
        blocking=spec.blocking,
        additional_deps=list(spec.reads),
        partitions_def=CALENDARS.get(spec.calendar, DAILY) if spec.scope == PER_DAY else None,
    )
    def _check(
        context: dg.AssetCheckExecutionContext,
        mongo: MongoResource,
        warehouse: dg.ResourceParam[Warehouse],
        settings: ProjectSettings,
    ):
        inputs = RuleInputs(mongo.db, warehouse, settings, context.run.run_id)
        days = run_partition_keys(context.run)
        # one connection for the many small queries
        with mongo_retries(context), warehouse.session():
            if days:  # a partitioned run: one result for each partition Dagster planned
                first, end = date.fromisoformat(days[0]), date.fromisoformat(days[-1]) + DAY
                per_day = spec.daily(inputs, first, end)
                targets = (
                    latest_materializations(context.instance, key.asset_key, days)
                    if spec.scope == PER_DAY
                    else {}
                )
                whole = not spec.windowed and spec.by_day is None  # one verdict on the whole table
                evaluations = [
                    evaluation(
                        per_day[date.fromisoformat(d)],
                        key,
                        spec.blocking,
                        d,
                        targets.get(d),
                        whole_table=whole,
                    )
                    for d in days
                ]

            else:
                if not spec.windowed:
                    outcome = spec.judge(inputs, date.min, date.max)
                else:
                    window = history_window()
                    whole = None if spec.rule is None else spec.judge(inputs, *window)
                    outcome = history_outcome(spec.daily(inputs, *window), whole)
                target = latest_of_asset(context.instance, key.asset_key)
                evaluations = [evaluation(outcome, key, spec.blocking, target=target)]
        yield from evaluations
        yield dg.Output(None)  # the check op's own output; the evaluations above are its results

    return _check


def check_keys(scope: str) -> list[dg.AssetCheckKey]:
    """The keys of the catalogued checks of one scope (PER_DAY or HISTORY)."""
    return [dg.AssetCheckKey(dg.AssetKey(s.asset), s.name) for s in CHECKS if s.scope == scope]


def with_per_day_checks(selection: dg.AssetSelection) -> dg.AssetSelection:
    """The assets of `selection` with their per-day checks only: their whole-history checks run in
    `refresh_job`, unpartitioned, so none reads as one partition's verdict."""
    checks = selection - selection.without_checks()
    return selection.without_checks() | (checks & dg.AssetSelection.checks(*check_keys(PER_DAY)))


def asset_checks(*assets: dg.AssetsDefinition | str) -> list[dg.AssetChecksDefinition]:
    """Every catalogued check of these assets (definitions or keys), beside them in their domain."""
    out = []
    for asset in assets:
        if isinstance(asset, dg.AssetsDefinition):
            single = (
                asset if len(asset.keys) == 1 else None
            )  # a multi-asset's checks target the key
            for key in asset.keys:
                out.extend(rule_check(spec, single) for spec in checks_of(key.to_user_string()))
        else:
            out.extend(rule_check(spec) for spec in checks_of(asset))
    return out
