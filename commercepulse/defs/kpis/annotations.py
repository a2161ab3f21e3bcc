"""Annotating a day from the UI: materialize partition D of `day_annotations` with a note (Launchpad
config; `remove: true` takes the note away). The day is shown with its note, is never flagged by
`kpi_anomalies` and leaves the KPI baselines (`warehouse/annotations.py`); the check is judged
again at once, and the day's report is rewritten (sensor `report_touched_days`)."""

from datetime import date

import dagster as dg
from pydantic import Field

from commercepulse.checks.catalogue import row
from commercepulse.checks.spec import RuleInputs
from commercepulse.checks.windows import history_outcome
from commercepulse.defs.asset_checks import evaluation
from commercepulse.defs.check_targets import latest_of_asset
from commercepulse.defs.metadata import table_metadata_spec
from commercepulse.defs.partitions import (
    DAILY,
    SINGLE_RUN,
    WAREHOUSE_KIND,
    history_window,
    window_days,
)
from commercepulse.defs.resources import MongoResource, ProjectSettings
from commercepulse.errors import InputError
from commercepulse.lib.days import days_between
from commercepulse.warehouse import annotations
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.schema import ALL_TABLES

ANOMALIES = row("kpi_daily_revenue:kpi_anomalies")


class AnnotateConfig(dg.Config):
    note: str = Field(default="", description="what is unusual about the day (shown beside it)")
    vendor: str = Field(default="", description="the one vendor it concerns (blank: every vendor)")
    by: str = Field(default="", description="who writes it")
    remove: bool = Field(default=False, description="take the day's note (of this scope) away")


def anomalies_evaluation(
    instance: dg.DagsterInstance, inputs: RuleInputs
) -> dg.AssetCheckEvaluation:
    """`kpi_anomalies` judged now over the history window, as the refresh judges it."""
    key = dg.AssetCheckKey(dg.AssetKey(ANOMALIES.asset), ANOMALIES.name)
    outcome = history_outcome(ANOMALIES.daily(inputs, *history_window()))
    return evaluation(
        outcome, key, ANOMALIES.blocking, target=latest_of_asset(instance, key.asset_key)
    )


@dg.asset(
    group_name="kpis",
    kinds={WAREHOUSE_KIND},
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
    description=ALL_TABLES["day_annotations"].description
    + ". Materialize day D (or a range) with a note to annotate it.",
    metadata=table_metadata_spec("day_annotations"),
)
def day_annotations(
    context: dg.AssetExecutionContext,
    config: AnnotateConfig,
    mongo: MongoResource,
    warehouse: dg.ResourceParam[Warehouse],
    settings: ProjectSettings,
) -> dg.MaterializeResult:
    start, end = window_days(context)
    days: list[date] = days_between(start, end)
    try:
        if config.remove:
            removed = annotations.remove(warehouse, days, config.vendor)
            lines = [f"{removed} note(s) removed from {start}..{end}"]
        else:
            lines = annotations.annotate(
                warehouse, days, config.note, config.vendor, config.by, context.run.run_id
            )
    except InputError as exc:
        raise dg.Failure(description=str(exc)) from exc
    inputs = RuleInputs(mongo.db, warehouse, settings, context.run.run_id)
    context.instance.report_runless_asset_event(anomalies_evaluation(context.instance, inputs))
    for line in lines:
        context.log.info(line)
    return dg.MaterializeResult(
        metadata={"annotated": lines, "scope": config.vendor or annotations.ALL}
    )
