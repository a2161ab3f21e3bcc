"""Alerts to ALERT_WEBHOOK_URL: a failed run, and a check result that fails with severity ERROR or
a blocking check that fails, once per (check, partition) until it passes again, then a recovery
message. Each message names the owners of the assets concerned.

What was sent lives in the sensor's cursor, marked right after the receiver took it: a receiver
that is down leaves the rest for the next tick (the tick says why), so a message is posted once
and none is lost; the sensor never raises.
"""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from commercepulse import alerts
from commercepulse.defs.instance_queries import SENSOR_INTERVAL, run_assets
from commercepulse.defs.resources import ProjectSettings

#: Failed runs looked at (older ones were alerted, or happened before alerts were on).
LOOKBACK = timedelta(days=1)
KEEP_RUN_IDS = 500
ERROR = dg.AssetCheckSeverity.ERROR


def _owners(graph, keys) -> list[str]:
    found: list[str] = []
    for key in keys:
        if graph.has(key):
            found.extend(o for o in graph.get(key).owners if o not in found)
    return found


def _pending(context: dg.SensorEvaluationContext, base: str, state: dict) -> list[alerts.Alert]:
    """What to send now: new failed runs, checks that turned failing, failing checks that recovered."""
    repository = context.repository_def
    graph = repository.asset_graph
    out: list[alerts.Alert] = []
    since = datetime.now(UTC) - LOOKBACK
    failed = context.instance.get_runs(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE], updated_after=since),
        limit=100,
    )
    for run in reversed(list(failed)):  # oldest first
        if run.run_id not in state["runs"]:
            out.append(
                alerts.run_failed(
                    run.run_id,
                    run.job_name,
                    "the run ended in FAILURE",
                    _owners(graph, run_assets(repository, run)),
                    f"{base}/runs/{run.run_id}",
                )  # fmt: skip
            )
    keys = list(graph.asset_check_keys)
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    for key, record in sorted(latest.items(), key=lambda kv: kv[0].to_user_string()):
        evaluation = record.event.asset_check_evaluation if record.event else None
        if evaluation is None:
            continue  # planned, not judged yet
        name = f"{key.asset_key.to_user_string()}:{key.name}"
        ident = f"check:{name}:{record.partition or ''}"
        owners = _owners(graph, [key.asset_key])
        url = f"{base}/assets/{key.asset_key.to_user_string()}?view=checks"
        alarming = not evaluation.passed and (evaluation.severity == ERROR or evaluation.blocking)
        if alarming and ident not in state["open"]:
            out.append(
                alerts.check_failing(
                    name,
                    record.partition,
                    evaluation.severity.value,
                    bool(evaluation.blocking),
                    evaluation.description or "",
                    owners,
                    url,
                )  # fmt: skip
            )
        elif evaluation.passed and ident in state["open"]:
            out.append(alerts.check_recovered(name, record.partition, owners, url))
    return out


def alert_sensor(running: bool) -> dg.SensorDefinition:
    """The alert sensor; running by default only when ALERT_WEBHOOK_URL is set."""

    @dg.sensor(
        name="alert_webhook",
        minimum_interval_seconds=max(SENSOR_INTERVAL, 5),
        default_status=dg.DefaultSensorStatus.RUNNING
        if running
        else dg.DefaultSensorStatus.STOPPED,
        description="Posts failed runs, ERROR or blocking check failures (once until they recover) "
        "and recoveries to ALERT_WEBHOOK_URL (Slack-compatible JSON), naming the owners. "
        + ("" if running else "Stopped: ALERT_WEBHOOK_URL is not set."),
    )
    def alert_webhook(context: dg.SensorEvaluationContext, settings: ProjectSettings):
        url = settings.alert_webhook_url
        if not url:
            return dg.SkipReason("ALERT_WEBHOOK_URL is not set: set it to receive alerts")
        state = {"runs": [], "open": [], **json.loads(context.cursor or "{}")}
        state["open"] = set(state["open"])
        sent, problem = 0, None
        for alert in _pending(context, settings.ui_base_url.rstrip("/"), state):
            problem = alerts.post(url, alert)
            if problem:
                break
            sent += 1
            if alert.kind == alerts.RUN_FAILED:
                state["runs"] = [*state["runs"], alert.fields["run_id"]][-KEEP_RUN_IDS:]
            elif alert.kind == alerts.CHECK_FAILING:
                state["open"].add(alert.key)
            else:
                state["open"].discard(alert.key)
        context.update_cursor(json.dumps({"runs": state["runs"], "open": sorted(state["open"])}))
        if problem:
            return dg.SkipReason(
                f"alert receiver {problem}: {sent} sent, the rest are retried on the next tick"
            )
        return dg.SkipReason(f"{sent} alert(s) sent" if sent else "nothing to alert")

    return alert_webhook
