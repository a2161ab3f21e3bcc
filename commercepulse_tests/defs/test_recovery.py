"""Level-triggered automation, driven as the daemon drives it against a real instance: a run that
dies or fails leaves its work due and the next tick tries again; a dead worker is failed at once;
work that can never succeed ends, after its attempts, in a red check naming it and its error,
and nothing else waits behind it."""

from __future__ import annotations

import os
import shutil
import subprocess

import dagster as dg
import pytest

from commercepulse.defs import work
from commercepulse.defs.automation.recovery import CHECK, gave_up_evaluation, unfinished_work
from commercepulse_tests.defs.test_automation import (
    PAID_DAY,
    late_payment_file,
    launch,
    run_requests,
)
from commercepulse_tests.harness import definitions

NEW_DAY = "2025-01-16"


@pytest.fixture
def live_only(datapack_copy, tmp_path, monkeypatch):
    """The data pack's warehouse and instance-free settings over an empty DATA_DIR, no back-off."""
    settings, _ = datapack_copy
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(settings.data_dir / "fx_rates_2023.csv", data)
    monkeypatch.setattr(work, "BACKOFF_S", 0.0)
    settings = settings.model_copy(update={"data_dir": data})
    return settings, definitions(settings), data


def dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def started_as_daemon(defs, instance, request: dg.RunRequest, job: str) -> dg.DagsterRun:
    """A run of `request` in STARTED, its worker's PID reported, as a launched run looks."""
    run = instance.create_run_for_job(
        defs.resolve_job_def(job),
        tags={
            **request.tags,
            **({"dagster/partition": request.partition_key} if request.partition_key else {}),
        },
        status=dg.DagsterRunStatus.STARTED,
    )
    pid = dead_pid()
    instance.report_engine_event(f"Started process for run (pid: {pid}).", run)
    return run


def recovery_tick(defs, instance):
    with dg.build_sensor_context(instance=instance, definitions=defs) as context:
        return defs.get_sensor_def("run_recovery")(context)


def test_a_killed_landing_is_failed_at_once_and_its_file_lands_on_the_next_attempt(
    live_only, instance
):
    settings, defs, data = live_only
    late_payment_file(data, NEW_DAY, PAID_DAY, "ORD-250112-00002", "killed-1")
    (first,), cursor = run_requests(defs, instance, "new_data_files")
    assert first.partition_key == NEW_DAY and first.tags[work.ATTEMPT] == "1"
    # the daemon launched it; then the whole tree was killed: its worker is gone
    killed = started_as_daemon(defs, instance, first, "ingest_job")
    assert run_requests(defs, instance, "new_data_files", cursor)[0] == []  # in flight: wait
    recovery_tick(defs, instance)
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    # its file is still due: a second attempt under a new run key
    (second,), cursor = run_requests(defs, instance, "new_data_files", cursor)
    assert second.partition_key == NEW_DAY and second.tags[work.ATTEMPT] == "2"
    assert second.run_key != first.run_key
    assert second.tags[work.MAX_RETRIES_TAG] == str(work.MAX_ATTEMPTS - 2)
    assert [u.subject for u in unfinished_work(instance)] == [f"ingest_job {NEW_DAY}"]
    assert launch(defs, instance, second).success
    assert run_requests(defs, instance, "new_data_files", cursor)[0] == []
    assert run_requests(defs, instance, "new_data_files")[0] == []  # a fresh cursor agrees
    assert unfinished_work(instance) == []


def test_a_killed_rebuild_is_not_forgotten(live_only, instance):
    settings, defs, data = live_only
    late_payment_file(data, NEW_DAY, PAID_DAY, "ORD-250112-00002", "killed-2")
    (landing,), _ = run_requests(defs, instance, "new_data_files")
    assert launch(defs, instance, landing).success
    (rebuild,), planned = run_requests(defs, instance, "reconcile_business_days")
    assert rebuild.partition_key == PAID_DAY
    killed = started_as_daemon(defs, instance, rebuild, "business_day_job")
    assert run_requests(defs, instance, "reconcile_business_days", planned)[0] == []
    recovery_tick(defs, instance)
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    (again,), planned = run_requests(defs, instance, "reconcile_business_days", planned)
    assert again.partition_key == PAID_DAY and again.tags[work.ATTEMPT] == "2"
    assert launch(defs, instance, again, sensor_job="business_day_job").success
    assert run_requests(defs, instance, "reconcile_business_days", planned)[0] == []
    assert run_requests(defs, instance, "reconcile_business_days")[0] == []


def test_a_file_that_can_never_land_ends_in_the_red_check_and_blocks_nothing(live_only, instance):
    settings, defs, data = live_only
    broken = data / "live_events" / NEW_DAY / "events.jsonl"
    broken.mkdir(parents=True)  # a directory where the day's file should be
    cursor, attempts = None, 0
    while True:
        requests, cursor = run_requests(defs, instance, "new_data_files", cursor)
        if not requests:
            break
        (request,) = requests
        attempts += 1
        assert not launch(defs, instance, request).success
    assert attempts == work.MAX_ATTEMPTS
    verdict = gave_up_evaluation(instance)
    assert not verdict.passed and verdict.severity == dg.AssetCheckSeverity.ERROR
    assert f"ingest_job {NEW_DAY}" in verdict.description
    assert "No live events file" in verdict.description
    assert len(verdict.metadata["runs"].value) == work.MAX_ATTEMPTS
    result = recovery_tick(defs, instance)
    (evaluation,) = result.asset_events
    assert evaluation.check_name == CHECK.name and not evaluation.passed
    # another day's file lands as usual beside it
    late_payment_file(data, "2025-01-17", "2025-01-13", "ORD-250113-00002", "fine-1")
    requests, cursor = run_requests(defs, instance, "new_data_files", cursor)
    assert [r.partition_key for r in requests] == ["2025-01-17"]
    assert launch(defs, instance, requests[0]).success
    # the bad file fixed: it lands, and the check passes again
    broken.rmdir()
    late_payment_file(data, NEW_DAY, PAID_DAY, "ORD-250112-00002", "fixed-1")
    requests, cursor = run_requests(defs, instance, "new_data_files", cursor)
    assert [r.partition_key for r in requests] == [NEW_DAY]
    assert launch(defs, instance, requests[0]).success
    assert gave_up_evaluation(instance).passed


def test_a_notebook_holding_the_warehouse_is_waited_for_and_named(tmp_path, caplog):
    """A reader in another process (an analyst's notebook) holds the DuckDB file: the platform's
    connection waits for it, longer than the two minutes a bare lock error got, saying which
    PID and command holds it, then proceeds once it closes."""
    import logging
    import sys
    import time

    import duckdb

    from commercepulse.warehouse import duckdb_warehouse

    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print('open', flush=True); time.sleep(4); c.close()",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "open"
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="commercepulse.warehouse"):
        con = duckdb_warehouse._connect_waiting(str(path))
    con.close()
    holder.wait()
    assert time.monotonic() - started >= 2
    said = [r.getMessage() for r in caplog.records]
    assert any(f"PID {holder.pid}" in line and "python" in line for line in said), said
    assert any("free after" in line for line in said), said


def test_a_run_left_started_by_a_killed_cli_is_failed(live_only, instance):
    """`commercepulse run` executes its runs in its own process, naming it in a tag: killed, its
    run would stay STARTED and hold back the refresh; the recovery sensor fails it."""
    from commercepulse.defs.landing_contract import PROCESS

    settings, defs, data = live_only
    run = instance.create_run_for_job(
        defs.resolve_job_def("business_day_job"),
        tags={PROCESS: str(dead_pid()), "dagster/partition": PAID_DAY},
        status=dg.DagsterRunStatus.STARTED,
    )
    alive = instance.create_run_for_job(
        defs.resolve_job_def("business_day_job"),
        tags={PROCESS: str(os.getpid()), "dagster/partition": PAID_DAY},
        status=dg.DagsterRunStatus.STARTED,
    )
    recovery_tick(defs, instance)
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED
    instance.delete_run(alive.run_id)


def test_a_day_whose_figures_were_redone_alone_gets_its_report_rewritten(live_only, instance):
    """A landing whose feed figures failed, finished by a re-execution of those steps alone (no
    new landing): the day's report is due again and rewritten once the KPIs are current; the
    overview names work still waiting after a failure."""
    settings, defs, data = live_only
    late_payment_file(data, NEW_DAY, PAID_DAY, "ORD-250112-00002", "redo-1")
    (landing,), _ = run_requests(defs, instance, "new_data_files")
    assert launch(defs, instance, landing).success
    (rebuild,), _ = run_requests(defs, instance, "reconcile_business_days")
    assert launch(defs, instance, rebuild, sensor_job="business_day_job").success
    (refresh,), _ = run_requests(defs, instance, "refresh_whole_history")
    assert launch(defs, instance, refresh, "refresh_job").success
    (reports,), cursor = run_requests(defs, instance, "report_touched_days")
    assert launch(defs, instance, reports, sensor_job="reports_job").success
    assert run_requests(defs, instance, "report_touched_days", cursor)[0] == []
    # the feed figures of the ingestion day materialized again on their own
    feed = defs.resolve_job_def("ingest_job").get_subset(
        asset_selection={dg.AssetKey("vendor_feed_daily")}
    )
    assert feed.execute_in_process(instance=instance, partition_key=NEW_DAY).success
    # reports come last: a refresh queued meanwhile (behind a rebuild) holds the report back
    queued = instance.create_run_for_job(
        defs.resolve_job_def("refresh_job"), status=dg.DagsterRunStatus.NOT_STARTED
    )
    assert run_requests(defs, instance, "report_touched_days", cursor)[0] == []
    instance.delete_run(queued.run_id)
    (again,), cursor = run_requests(defs, instance, "report_touched_days", cursor)
    assert NEW_DAY in run_partition_keys_of(again)
    # a failed report attempt is listed on the overview the next report run writes
    failed = instance.create_run_for_job(
        defs.resolve_job_def("reports_job"),
        tags={**again.tags, "dagster/partition": NEW_DAY},
        status=dg.DagsterRunStatus.STARTED,
    )
    instance.report_run_failed(failed, "killed")
    assert launch(defs, instance, dg.RunRequest(partition_key=PAID_DAY), "reports_job").success
    overview = (settings.reports_dir / "index.html").read_text()
    assert "Not finished after a failure" in overview and f"report of {NEW_DAY}" in overview


def run_partition_keys_of(request: dg.RunRequest) -> list[str]:
    """The days a requested run covers (its partition, or its range tags)."""
    from types import SimpleNamespace

    from commercepulse.defs.partitions import PARTITION, run_partition_keys

    pk = {PARTITION: request.partition_key} if request.partition_key else {}
    return run_partition_keys(SimpleNamespace(tags={**request.tags, **pk}))


def test_tomorrows_file_waits_for_its_utc_day_and_says_how_long(live_only, instance):
    """A vendor in Lagos (UTC+1) names tomorrow's file an hour before the UTC day begins: it is
    not landed yet, and the sensor's tick and the quality overview say how long it waits."""
    from datetime import UTC, datetime, timedelta

    from commercepulse.data_files import not_begun

    assert not_begun(["2026-12-08", "2026-12-07"], datetime(2026, 12, 7, 23, 13, tzinfo=UTC)) == [
        "2026-12-08 waits for its UTC day, 47 min"
    ]
    settings, defs, data = live_only
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    late_payment_file(data, tomorrow, PAID_DAY, "ORD-250112-00002", "tomorrow-1")
    with dg.build_sensor_context(
        instance=instance, definitions=defs, resources=defs.resources
    ) as context:
        result = defs.get_sensor_def("new_data_files")(context)
    assert not result.run_requests
    assert f"{tomorrow} waits for its UTC day" in result.skip_reason.skip_message
    overview = (settings.reports_dir / "index.html").read_text()
    assert "Files waiting for their UTC day" in overview
    # a file for a day before the ingestion calendar's start is named, with what to do
    late_payment_file(data, "2023-06-01", PAID_DAY, "ORD-250112-00002", "before-1")
    with dg.build_sensor_context(
        instance=instance, definitions=defs, resources=defs.resources
    ) as context:
        said = defs.get_sensor_def("new_data_files")(context).skip_reason.skip_message
    assert "1 day file(s) before the ingestion calendar's start 2024-01-01 (2023-06-01" in said
    assert f"{tomorrow} waits for its UTC day" in overview


def test_consecutive_due_days_go_as_one_range_run(instance):
    """A landing that touched several consecutive business days gets one range run, and days
    apart get one run each (the queue runs one at a time: a run per day would queue dozens)."""
    from commercepulse.defs.work import day_attempts

    due = {day: (7, 0.0) for day in ("2025-01-10", "2025-01-11", "2025-01-12", "2025-01-20")}
    requests, waiting = day_attempts(instance, due, "reconcile_business_days", "reconcile", 7)
    assert not waiting
    spans = [
        (
            r.tags.get("dagster/asset_partition_range_start", r.partition_key),
            r.tags.get("dagster/asset_partition_range_end", r.partition_key),
        )
        for r in requests
    ]
    assert spans == [("2025-01-10", "2025-01-12"), ("2025-01-20", "2025-01-20")]


def test_a_run_starting_on_a_code_server_that_is_gone_is_failed_at_once(
    live_only, instance, monkeypatch
):
    """After a restart, a run left STARTING by the previous code server (its socket answers no
    more) is failed on the first tick, without waiting out the start grace; one whose server
    still answers (a code reload keeps the old server for its runs) is left to start."""
    import json
    import socket
    import time

    from commercepulse.defs.automation import recovery

    settings, defs, data = live_only
    live_path = f"/tmp/cp-live-{os.getpid()}.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(live_path)
    server.listen(1)

    def starting(path: str) -> dg.DagsterRun:
        return instance.create_run_for_job(
            defs.resolve_job_def("ingest_job"),
            tags={recovery.GRPC_INFO: json.dumps({"host": "localhost", "socket": path})},
            status=dg.DagsterRunStatus.STARTING,
        )

    gone, alive = starting(str(data / "gone.sock")), starting(live_path)
    assert recovery.launcher_alive(gone) is False and recovery.launcher_alive(alive) is True
    # this code server started after both launches (a restart of `dagster dev`)
    monkeypatch.setattr(recovery.process_identity, "started_at", lambda pid: time.time() + 60)
    try:
        recovery_tick(defs, instance)
    finally:
        server.close()
        os.unlink(live_path)
    assert instance.get_run_by_id(gone.run_id).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTING
    instance.delete_run(alive.run_id)


def test_a_run_created_and_never_submitted_is_failed_after_the_grace(live_only, instance):
    """A daemon killed between creating a sensor's run and queueing it leaves it NOT_STARTED: it
    would count as in flight forever and hold its work back. Past START_GRACE_S it is failed (its
    work is tried again); a fresh one is left to its creator."""
    import time

    from commercepulse.defs.automation import recovery

    settings, defs, data = live_only
    run = instance.create_run_for_job(
        defs.resolve_job_def("refresh_job"), status=dg.DagsterRunStatus.NOT_STARTED
    )
    assert recovery.dead_runs(instance, time.time()) == []  # just created: its creator submits it
    later = time.time() + recovery.START_GRACE_S + 1
    (found,) = recovery.dead_runs(instance, time.time(), now=later)
    assert found[0].dagster_run.run_id == run.run_id and "never submitted" in found[1]
    instance.delete_run(run.run_id)
