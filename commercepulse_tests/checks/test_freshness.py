"""Freshness: the rules on fixed clocks, and the `freshness` sensor on a real instance recording
results only when a verdict changes (what the UI and the alert sensor then read)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from commercepulse.freshness import due_day, due_days, ingestion_freshness, kpi_freshness
from commercepulse_tests.harness import definitions

START = date(2024, 1, 1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_an_ingestion_day_is_due_at_the_deadline_hour_of_the_next_day():
    assert due_day(at("2026-12-01T05:59"), 6) == date(2026, 11, 29)
    assert due_day(at("2026-12-01T06:00"), 6) == date(2026, 11, 30)
    overdue = ingestion_freshness(at("2026-12-01T09:30"), 6, None, START)
    assert not overdue.passed and overdue.details["ingestion_day"] == "2026-11-30"
    assert "expected by 2026-12-01 06:00 UTC, not landed 3.5 h later" in overdue.description
    late = ingestion_freshness(at("2026-12-01T09:30"), 6, at("2026-12-01T08:00"), START)
    assert (
        not late.passed
        and late.severity == "WARN"
        and late.description == "ingestion day 2026-11-30 landed late, 2.0 h after its deadline"
    )
    on_time = ingestion_freshness(at("2026-12-01T09:30"), 6, at("2026-11-30T23:10"), START)
    assert on_time.passed and on_time.description.endswith("landed on time")
    assert ingestion_freshness(at("2023-06-01T09:00"), 6, None, START).passed  # before the stream
    # the summary names the judged days before it still overdue
    earlier = [date(2026, 11, 27), date(2026, 11, 28)]
    behind = ingestion_freshness(at("2026-12-01T09:30"), 6, at("2026-11-30T23:10"), START, earlier)
    assert not behind.passed and behind.details["overdue_days"] == ["2026-11-27", "2026-11-28"]
    assert "landed on time; 2 earlier day(s) overdue: 2026-11-27, 2026-11-28" in behind.description
    # the days judged one by one: the last few due, none before the stream
    assert due_days(at("2026-12-01T09:30"), 6, START, 3) == [
        date(2026, 11, 28),
        date(2026, 11, 29),
        date(2026, 11, 30),
    ]
    assert due_days(at("2026-12-01T05:00"), 6, date(2026, 11, 29), 3) == [date(2026, 11, 29)]


def test_kpis_are_stale_only_past_the_grace_after_a_landing():
    landing = at("2026-12-01T10:00")
    assert kpi_freshness(at("2026-12-01T12:00"), 30, None, None).passed
    assert kpi_freshness(at("2026-12-01T10:20"), 30, landing, at("2026-11-30T10:00")).passed
    fresh = kpi_freshness(at("2026-12-01T12:00"), 30, landing, at("2026-12-01T10:01"))
    assert fresh.passed and fresh.description == "refreshed 1.0 min after the last landing"
    stale = kpi_freshness(at("2026-12-01T10:45"), 30, landing, at("2026-11-30T10:00"))
    assert not stale.passed and "not refreshed 45 min after the last landing" in stale.description


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None):
    with dg.build_sensor_context(
        instance=instance, definitions=defs, cursor=cursor, resources=defs.resources
    ) as context:  # the resources live as long as the tick, as in the daemon
        result = defs.get_sensor_def("freshness")(context)
    if isinstance(result, dg.SensorResult):  # recorded as the daemon records a sensor's events
        for event in result.asset_events:
            instance.report_runless_asset_event(event)
        return result.cursor, result
    return cursor, result


def test_the_freshness_sensor_records_a_result_when_a_verdict_changes(env):
    """One result when a verdict changes (a day becomes due, lands, an earlier overdue day lands
    late), none otherwise; every overdue day of the judged window is named."""
    settings = env.model_copy(update={"freshness_deadline_hour": 0, "freshness_lookback_days": 3})
    defs = definitions(settings)
    assert defs.get_sensor_def("freshness").default_status == dg.DefaultSensorStatus.RUNNING
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=n)).isoformat() for n in (3, 2, 1)]  # due now, oldest first
    yesterday = days[-1]
    ingestion = dg.AssetCheckKey(dg.AssetKey("events_raw"), "ingestion_freshness")
    kpis = dg.AssetCheckKey(dg.AssetKey("kpi_daily_revenue"), "refreshed_after_landing")

    def verdicts(result) -> dict:
        return {e.check_name: e for e in result.asset_events}

    with dg.DagsterInstance.ephemeral() as instance:
        cursor, first = tick(defs, instance, None)
        overdue = verdicts(first)["ingestion_freshness"]
        assert not overdue.passed and overdue.severity == dg.AssetCheckSeverity.ERROR
        assert f"ingestion day {yesterday} is overdue" in overdue.description
        assert "overdue_days" not in overdue.metadata  # nothing landed: the stream has not started
        assert verdicts(first)["refreshed_after_landing"].passed
        # what the alert sensor reads: the latest execution of each check, failing
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key([ingestion])
        assert not latest[ingestion].event.asset_check_evaluation.passed

        _, unchanged = tick(defs, instance, cursor)
        assert isinstance(unchanged, dg.SkipReason)

        # the stream starts (late) on the first judged day: the day after it is missing too, named
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key="events_raw", partition=days[0])
        )
        cursor, late = tick(defs, instance, cursor)
        still = verdicts(late)["ingestion_freshness"]
        assert not still.passed and still.metadata["overdue_days"].value == [days[1]]
        assert days[0] not in still.description  # landed, late

        for day in (days[1], yesterday):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key="events_raw", partition=day)
            )
        cursor, landed = tick(defs, instance, cursor)
        after = verdicts(landed)
        # every day is in; the latest landed after its deadline: late, a warning, not an error
        assert not after["ingestion_freshness"].passed
        assert after["ingestion_freshness"].severity == dg.AssetCheckSeverity.WARN
        assert f"ingestion day {yesterday} landed late" in after["ingestion_freshness"].description
        assert after["refreshed_after_landing"].passed  # within the grace: the refresh is due
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="kpi_daily_revenue"))
        _, refreshed = tick(defs, instance, cursor)
        assert isinstance(refreshed, dg.SkipReason)  # same verdicts, nothing new to record
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key([kpis])
        assert latest[kpis].event.asset_check_evaluation.passed
