"""The analysts' deployment heals itself: `dagster dev` with its daemon, new day files copied in
(one of them non-atomically, half then whole), the whole process tree SIGKILLed at a stage (or
only a run's worker), `dagster dev` started again. The deployment must converge by itself: no run
left queued or started, the last file's day in refreshed KPIs within 60 s of the restart, and
every warehouse table equal to a clean `commercepulse run` of the same files. Prints how long
each recovery took."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from commercepulse.mongo.client import get_database
from commercepulse_tests.dagster_dev import free_port, wait_for
from commercepulse_tests.defs.test_faults import (
    differences,
    main_job,
    warehouse_state,
    world,
)

ROOT = Path(__file__).resolve().parents[2]
FIRST, DAYS, LATER = date(2025, 1, 14), 5, 3  # five live days: two at first, three copied in later
#: SPEC/issue target: the last file reaches refreshed KPIs within this many seconds of the restart.
HEAL_S = 60.0


@pytest.fixture(scope="module")
def full_data(tmp_path_factory) -> Path:
    from commercepulse.generate.writers import write_bootstrap, write_fx, write_live

    data = tmp_path_factory.mktemp("heal_data")
    write_bootstrap(data, seed=3, orders=150, year=2023)
    write_fx(data, 2025)
    write_live(data / "live_events", seed=9, start=FIRST, days=DAYS, events=3000)
    return data


@pytest.fixture(scope="module")
def clean(full_data, tmp_path_factory, module_env, postgres_instances):
    settings, env = world(
        module_env, full_data, tmp_path_factory.mktemp("clean"), "clean", postgres_instances
    )
    code, output = main_job(env)
    assert code == 0, output[-3000:]
    return warehouse_state(settings)


@contextmanager
def dagster_dev_process(env: dict, log: Path):
    """`dagster dev` in its own process group; yields the Popen (killed or stopped at the end)."""
    port = free_port()
    with open(log, "a") as out:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster"),
                "dev",
                "-w",
                "workspace.yaml",
                "-p",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield server
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@contextmanager
def instance_of(env: dict):
    import dagster as dg

    os.environ["DAGSTER_PG_URL"] = env["DAGSTER_PG_URL"]
    try:
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            yield instance
    finally:
        del os.environ["DAGSTER_PG_URL"]


def run_in(instance, job: str, statuses: list) -> str | None:
    import dagster as dg

    runs = instance.get_runs(filters=dg.RunsFilter(job_name=job, statuses=statuses), limit=1)
    return runs[0].run_id if runs else None


def worker_of(instance, run_id: str) -> int | None:
    from commercepulse.defs.automation.recovery import worker_pid

    found = worker_pid(instance, run_id)
    return found[0] if found else None


def copy_in(full: Path, data: Path, day: str, halves: bool) -> None:
    """A day file copied into DATA_DIR with plain writes (no rename); `halves`: half, then whole."""
    source = (full / "live_events" / day / "events.jsonl").read_bytes()
    target = data / "live_events" / day / "events.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    if halves:
        cut = source.index(b"\n", len(source) // 2) + 1
        target.write_bytes(source[:cut])
        time.sleep(3)
    target.write_bytes(source)


def settled(env: dict, days: list[str], quiet: dict) -> bool:
    """Nothing in flight, every day landed, the KPIs refreshed after the last landing, the
    reports after them, and no new run for 10 s. What is not yet so is kept in quiet["why"]."""
    import dagster as dg

    from commercepulse.defs.instance_queries import IN_FLIGHT

    with instance_of(env) as instance:
        flying = instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT), limit=5)
        if flying:
            quiet.clear()
            quiet["why"] = "in flight: " + ", ".join(
                f"{r.job_name} {r.status.value} {r.run_id[:8]}" for r in flying
            )
            return False
        missing = set(days) - set(instance.get_materialized_partitions(dg.AssetKey("events_raw")))
        if missing:
            quiet["why"] = f"days not landed: {sorted(missing)}"
            return False

        def latest(asset: str) -> float:
            found = instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
            return found[0].timestamp if found else 0.0

        order = {a: latest(a) for a in ("events_raw", "kpi_daily_revenue", "quality_reports")}
        if not order["events_raw"] < order["kpi_daily_revenue"] < order["quality_reports"]:
            quiet["why"] = f"latest materializations out of order: {order}"
            return False
        count = instance.get_runs_count()
    if quiet.get("count") != count:
        quiet.update(count=count, since=time.monotonic(), why="new runs")
        return False
    return time.monotonic() - quiet["since"] >= 10


#: The tags that say why a run exists (its sensor, attempt, retries).
TELLING_TAGS = ("commercepulse/", "dagster/retry", "dagster/will_retry", "dagster/parent")


def settle(env: dict, days: list[str], log: Path) -> None:
    """Wait for `settled`; on a timeout, fail with what was not settled, every run of the
    instance and the end of the `dagster dev` log (a CI failure explains itself)."""
    import dagster as dg

    quiet: dict = {}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if settled(env, days, quiet):
            return
        time.sleep(1)
    with instance_of(env) as instance:
        runs = [
            f"{r.job_name} {r.status.value} {r.run_id[:8]} "
            + str({k: v for k, v in r.tags.items() if k.startswith(TELLING_TAGS)})
            for r in instance.get_runs(limit=20)
        ]
        failures = [
            f"{r.event_log_entry.run_id[:8]}: {(r.event_log_entry.message or '')[:300]}"
            for r in instance.fetch_run_status_changes(
                dg.DagsterEventType.RUN_FAILURE, limit=10
            ).records
        ]
    tail = [line for line in log.read_text(errors="replace").splitlines() if "skipped" in line][
        -20:
    ]
    pytest.fail(
        "timed out after 300 s waiting for the deployment to settle: "
        + quiet.get("why", "?")
        + "\nruns (newest first):\n"
        + "\n".join(runs)
        + "\nrun failures:\n"
        + "\n".join(failures)
        + "\nsensor skips:\n"
        + "\n".join(tail)
    )


#: The audit log of what the platform showed and when: days landed one by one, with refreshes
#: between them, record restatements that one run over every file never shows. Every figure
#: table must be equal; these depend on arrival order by design.
HISTORY = {"kpi_restatements", "kpi_history", "revenue_snapshots", "revenue_snapshot_events"}


def without_history(state: dict) -> dict:
    return {name: rows for name, rows in state.items() if name not in HISTORY}


KILLS = {
    # job, status to catch it in, kill the whole tree (else only the run's worker)
    "landing_starting": ("ingest_job", "STARTING", True),
    "landing_running": ("ingest_job", "STARTED", True),
    "rebuild": ("business_day_job", "STARTED", True),
    "refresh": ("refresh_job", "STARTED", True),
    "worker_only": ("business_day_job", "STARTED", False),
}


@pytest.mark.slow
@pytest.mark.parametrize("kill", list(KILLS))
def test_the_deployment_converges_after_a_kill(
    kill,
    full_data,
    clean,
    tmp_path,
    module_env,
    postgres_instances,
):
    import dagster as dg

    job, status, whole_tree = KILLS[kill]
    data = tmp_path / "data"
    shutil.copytree(full_data, data, ignore=shutil.ignore_patterns("live_events"))
    days = sorted(p.name for p in (full_data / "live_events").iterdir())
    for day in days[:-LATER]:
        copy_in(full_data, data, day, halves=False)
    settings, env = world(module_env, data, tmp_path, f"healed_{kill}", postgres_instances)
    code, output = main_job(env)
    assert code == 0, output[-3000:]
    log = tmp_path / "dagster-dev.log"
    with dagster_dev_process(env, log) as server:
        time.sleep(20)  # the code location loads, the sensors start
        for i, day in enumerate(days[-LATER:]):
            copy_in(full_data, data, day, halves=i == 1)
            time.sleep(2)
        with instance_of(env) as instance:  # one instance: a poll every 20 ms catches a short run
            caught = wait_for(
                f"a {job} run in {status}",
                lambda: run_in(instance, job, [getattr(dg.DagsterRunStatus, status)]),
                timeout=240,
                every=0.02,
            )
            if whole_tree:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
            else:
                pid = wait_for(
                    "its worker's PID", lambda: worker_of(instance, caught), timeout=60, every=0.02
                )
                os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        if not whole_tree:
            settle(env, days, log)
            healed = time.monotonic() - killed_at
    if whole_tree:
        with dagster_dev_process(env, log):
            restarted, restarted_at = time.monotonic(), time.time()
            settle(env, days, log)
            healed = time.monotonic() - restarted
    else:
        restarted_at = time.time() - (time.monotonic() - killed_at)
    healed -= 10  # the quiet period `settled` waits for
    with instance_of(env) as instance:
        run = instance.get_run_by_id(caught)
        assert run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS)
        kpis = instance.fetch_materializations(dg.AssetKey("kpi_daily_revenue"), limit=1)
        to_kpis = kpis.records[0].timestamp - restarted_at
    print(
        f"\n{kill}: the last day in refreshed KPIs {to_kpis:.1f} s and everything settled "
        f"{healed:.1f} s after the {'restart' if whole_tree else 'kill'}"
    )
    state = without_history(warehouse_state(settings))
    assert state == without_history(clean), differences(state, without_history(clean))
    assert to_kpis <= HEAL_S, f"{kill}: {to_kpis:.0f} s to refreshed KPIs; log: {log}"
    get_database(settings.mongo_uri, settings.mongo_db).client.drop_database(settings.mongo_db)
