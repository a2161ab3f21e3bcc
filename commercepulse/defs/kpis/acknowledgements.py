"""Acknowledging a material restatement from the UI: materialize partition D of
`revenue_acknowledgements` with a note (Launchpad config). The day's net revenue as it stands is
accepted (`checks/acknowledgements.py`), `revenue_drift` is judged again at once, and the
materialization touches day D, so its report is rewritten (sensor `report_touched_days`)."""

from datetime import date

import dagster as dg
from pydantic import Field

from commercepulse.checks.acknowledgements import acknowledge_days
from commercepulse.checks.catalogue import row
from commercepulse.checks.spec import RuleInputs
from commercepulse.defs.asset_checks import evaluation
from commercepulse.defs.check_targets import latest_of_asset
from commercepulse.defs.metadata import table_metadata_spec
from commercepulse.defs.partitions import DAILY, SINGLE_RUN, WAREHOUSE_KIND, window_days
from commercepulse.defs.resources import MongoResource, ProjectSettings
from commercepulse.errors import InputError
from commercepulse.lib.days import days_between
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.schema import ALL_TABLES

DRIFT = row("kpi_daily_revenue:revenue_drift")


class AcknowledgeConfig(dg.Config):
    note: str = Field(description="why the restated figure is accepted (shown beside the day)")
    by: str = Field(default="", description="who acknowledges it")


def drift_evaluation(instance: dg.DagsterInstance, inputs: RuleInputs) -> dg.AssetCheckEvaluation:
    """`revenue_drift` judged now, as the refresh judges it, linked to the KPI it judges."""
    key = dg.AssetCheckKey(dg.AssetKey(DRIFT.asset), DRIFT.name)
    outcome = DRIFT.judge(inputs, date.min, date.max)
    return evaluation(outcome, key, DRIFT.blocking, target=latest_of_asset(instance, key.asset_key))


@dg.asset(
    group_name="kpis",
    kinds={WAREHOUSE_KIND},
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN,
    description=ALL_TABLES["revenue_acknowledgements"].description
    + ". Materialize day D with a note to accept its restated net revenue.",
    metadata=table_metadata_spec("revenue_acknowledgements"),
)
def revenue_acknowledgements(
    context: dg.AssetExecutionContext,
    config: AcknowledgeConfig,
    mongo: MongoResource,
    warehouse: dg.ResourceParam[Warehouse],
    settings: ProjectSettings,
) -> dg.MaterializeResult:
    start, end = window_days(context)  # one day, or every open day of a range
    try:
        done, refused = acknowledge_days(
            warehouse,
            settings,
            days_between(start, end),
            config.note,
            config.by,
            context.run.run_id,
        )
    except InputError as exc:
        raise dg.Failure(description=str(exc)) from exc
    inputs = RuleInputs(mongo.db, warehouse, settings, context.run.run_id)
    context.instance.report_runless_asset_event(drift_evaluation(context.instance, inputs))
    for line in [d.line() for d in done]:
        context.log.info(line)
    return dg.MaterializeResult(
        metadata={
            "acknowledged": [d.line() for d in done],
            "accepted_ngn": sum(d.accepted_ngn for d in done),
            "drift_ngn": sum(d.drift_ngn for d in done),
            "note": config.note,
            "by": config.by or "-",
            "not_open": len(refused),
        }
    )
