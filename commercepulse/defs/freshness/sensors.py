"""The `freshness` sensor: judges the freshness checks on the clock and records a result (a
runless check evaluation) whenever a verdict changes, so the UI, the alerts and the overview
see an overdue day or stale KPIs without any run."""

import json
from datetime import UTC, datetime

import dagster as dg

from commercepulse.defs.freshness.checks import VERDICTS, evaluation
from commercepulse.defs.resources import ProjectSettings

INTERVAL_SECONDS = 60


@dg.sensor(
    name="freshness",
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Judges events_raw:ingestion_freshness (the last FRESHNESS_LOOKBACK_DAYS due "
    "ingestion days) and kpi_daily_revenue:refreshed_after_landing every minute; records a check "
    "result when a verdict changes.",
)
def freshness_sensor(
    context: dg.SensorEvaluationContext, settings: ProjectSettings
) -> dg.SensorResult | dg.SkipReason:
    now = datetime.now(UTC)
    said = json.loads(context.cursor) if context.cursor else {}
    events, changed = [], {}
    for key, verdict_of in VERDICTS.items():
        verdict = verdict_of(context.instance, settings, now)
        name = key.to_user_string()
        # a new result when the verdict flips, a new day becomes due, or a new landing happens
        state = [
            verdict.passed,
            verdict.details.get("ingestion_day", verdict.details.get("last_landing")),
            verdict.details.get("overdue_days", []),  # an earlier day landing late changes it
        ]
        if said.get(name) != state:
            events.append(evaluation(key, verdict))
            changed[name] = state
    if not events:
        return dg.SkipReason("every freshness verdict is unchanged since it was recorded")
    return dg.SensorResult(asset_events=events, cursor=json.dumps(said | changed))
