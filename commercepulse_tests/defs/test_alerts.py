"""Alerts to a webhook, against a real local HTTP receiver: a failed run and an ERROR / blocking
check failure are posted once (Slack `text` plus fields, owners named) and a recovery once; a
receiver that is down leaves them for the next tick, never raising and never posting twice; no
URL: the sensor is stopped and says why."""

from __future__ import annotations

import dagster as dg
import pytest

from commercepulse_tests.harness import definitions
from commercepulse_tests.receiver import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.down()


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None):
    with dg.build_sensor_context(
        instance=instance, definitions=defs, cursor=cursor, resources=defs.resources
    ) as context:  # the resources live as long as the tick, as in the daemon
        result = defs.get_sensor_def("alert_webhook")(context)
    return context.cursor, result


def failing_check(passed: bool, severity=dg.AssetCheckSeverity.ERROR, blocking=True):
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("fact_orders"), check_name="key_integrity", passed=passed,
        severity=severity, blocking=blocking, description="2 (threshold 0)" if not passed else None,
    )  # fmt: skip


def test_alerts_once_until_recovery_and_survive_a_receiver_that_is_down(env, receiver, monkeypatch):
    monkeypatch.setenv("ALERT_WEBHOOK_URL", receiver.url)  # what the code location reads at load
    settings = env.model_copy(update={"alert_webhook_url": receiver.url})
    defs = definitions(settings)
    assert defs.get_sensor_def("alert_webhook").default_status == dg.DefaultSensorStatus.RUNNING
    instance = dg.DagsterInstance.ephemeral()
    # a failed run of a landing job and a blocking ERROR check failure
    run = instance.create_run_for_job(defs.resolve_job_def("business_day_job"))
    instance.report_run_failed(run)
    instance.report_runless_asset_event(failing_check(passed=False))
    # a WARN finding of a non-blocking check is not an alert
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(asset_key=dg.AssetKey("fact_payments"), check_name="payments_without_order",
                                passed=False, severity=dg.AssetCheckSeverity.WARN)
    )  # fmt: skip
    cursor, result = tick(defs, instance, None)
    assert "2 alert(s) sent" in result.skip_message
    kinds = [(p["kind"], p.get("job") or p.get("check")) for p in receiver.posts]
    assert kinds == [
        ("run_failed", "business_day_job"),
        ("check_failing", "fact_orders:key_integrity"),
    ]
    check_post = receiver.posts[1]
    assert check_post["text"].startswith(
        ":warning: blocking check `fact_orders:key_integrity` failed (ERROR)"
    )
    assert (
        check_post["blocking"] is True
        and "owners" in check_post
        and check_post["url"].endswith("/assets/fact_orders?view=checks")
    )
    # nothing new: nothing posted again
    cursor, _ = tick(defs, instance, cursor)
    assert len(receiver.posts) == 2

    # the receiver is down when the check recovers: the tick says so, nothing is lost
    receiver.down()
    instance.report_runless_asset_event(failing_check(passed=True))
    cursor, result = tick(defs, instance, cursor)
    assert "alert receiver unreachable" in result.skip_message and len(receiver.posts) == 2
    cursor, result = tick(defs, instance, cursor)  # still down: still waiting, no crash
    assert "unreachable" in result.skip_message
    receiver.up()
    cursor, result = tick(defs, instance, cursor)
    assert [p["kind"] for p in receiver.posts] == ["run_failed", "check_failing", "check_recovered"]
    cursor, _ = tick(defs, instance, cursor)
    assert len(receiver.posts) == 3  # each message once
    # failing again after recovering: alerted again
    instance.report_runless_asset_event(failing_check(passed=False))
    tick(defs, instance, cursor)
    assert [p["kind"] for p in receiver.posts][-1] == "check_failing"


def test_without_a_url_the_alert_sensor_is_stopped_and_says_why(env, monkeypatch):
    monkeypatch.delenv("ALERT_WEBHOOK_URL", raising=False)
    defs = definitions(env.model_copy(update={"alert_webhook_url": None}))
    sensor = defs.get_sensor_def("alert_webhook")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert "ALERT_WEBHOOK_URL is not set" in sensor.description
    _, result = tick(defs, dg.DagsterInstance.ephemeral(), None)
    assert "ALERT_WEBHOOK_URL is not set" in result.skip_message


def test_every_asset_has_an_owner_from_the_settings(env):
    """ASSET_OWNERS (group -> owner) reaches every asset: the catalog filters by owner; each asset
    carries its group's description."""
    from commercepulse.definitions import GROUP_DESCRIPTIONS

    graph = definitions(env).resolve_asset_graph()
    owners = {k.to_user_string(): graph.get(k).owners for k in graph.get_all_asset_keys()}
    assert all(len(o) == 1 for o in owners.values()), owners
    described = {
        k.to_user_string(): graph.get(k).metadata.get("group_description")
        for k in graph.get_all_asset_keys()
    }
    assert all(described.values()), [k for k, v in described.items() if not v]
    assert described["vendor_feed_daily"] == GROUP_DESCRIPTIONS["feeds"]
    assert owners["kpi_daily_revenue"] == ["team:analytics"] and owners["events_raw"] == [
        "team:ingestion"
    ]
    other = definitions(env.model_copy(update={"asset_owners": {"kpis": "bi@example.com"}}))
    assert other.resolve_asset_graph().get(dg.AssetKey("kpi_daily_revenue")).owners == [
        "bi@example.com"
    ]
