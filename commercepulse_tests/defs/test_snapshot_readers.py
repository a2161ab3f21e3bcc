"""Readers under the analysts' deployment: `dagster dev` with its daemon, 20 reader processes
opening the read snapshot in a loop and one holding a session open for 5 minutes, while three
new day files land, are rebuilt and refreshed. No run may fail, no reader may error, and every
snapshot a reader saw holds exactly the revenue the platform had published when that snapshot
was (the KPI's materialization metadata of that moment: the oracle is the instance, not the
file). Prints how many reads each snapshot served."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import date

import pytest

from commercepulse_tests.defs.test_deployment_recovery import (
    copy_in,
    dagster_dev_process,
    instance_of,
    settle,
)
from commercepulse_tests.defs.test_faults import main_job, world

FIRST, DAYS, LATER = date(2025, 1, 14), 5, 3
READERS = 20
#: The one reader that keeps its session holds it at least this long (seconds).
HOLD_S = 300.0

#: A reader: opens latest.duckdb read-only, reads which snapshot it is and its revenue, closes;
#: again until told to stop. Each new snapshot it sees is one JSON line; an error is one too.
#: Readers run at the lowest CPU priority and pause half a second between reads: the test is of
#: locks, not of CPU, and 20 readers in a tight loop take both cores of a CI machine (measured:
#: 0 % idle), which starved a run past the settle timeout in CI.
READER = r"""
import duckdb, json, os, sys, time, pathlib
os.nice(19)
path, out, stop = sys.argv[1], open(sys.argv[2], "a"), pathlib.Path(sys.argv[3])
seen, reads = set(), 0
while not stop.exists():
    try:
        con = duckdb.connect(path, read_only=True)
        sid, run, published = con.execute(
            "SELECT snapshot_id, refresh_run_id, epoch(published_at) FROM snapshot_info "
            "ORDER BY snapshot_id DESC LIMIT 1").fetchone()
        rows = con.execute(
            "SELECT CAST(date AS VARCHAR), CAST(net_revenue_ngn AS DOUBLE) FROM kpi_daily_revenue "
            "ORDER BY date").fetchall()
        con.close()
        reads += 1
        if sid not in seen:
            seen.add(sid)
            out.write(json.dumps({"snapshot": sid, "run": run, "published": published,
                                  "revenue": rows}) + "\n")
            out.flush()
    except Exception as exc:
        out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
        out.flush()
    time.sleep(0.5)
out.write(json.dumps({"reads": reads}) + "\n")
"""

#: A reader that opens the snapshot once and keeps its session until told to stop.
HOLDER = r"""
import duckdb, json, sys, time, pathlib
path, out, stop = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
con = duckdb.connect(path, read_only=True)
first = con.execute("SELECT snapshot_id FROM snapshot_info ORDER BY 1 DESC LIMIT 1").fetchone()[0]
opened = time.monotonic()
while not stop.exists():
    time.sleep(0.2)
again = con.execute("SELECT snapshot_id FROM snapshot_info ORDER BY 1 DESC LIMIT 1").fetchone()[0]
pathlib.Path(out).write_text(json.dumps(
    {"first": first, "again": again, "held_s": time.monotonic() - opened}))
"""


def published_revenue(instance, before: float) -> dict[str, float]:
    """kpi_daily_revenue as the platform had last published it before `before` (epoch s): the
    latest materialization's metadata table of its newest days."""
    import dagster as dg

    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("kpi_daily_revenue"), before_timestamp=before),
        limit=1,
    ).records
    assert records, f"no kpi_daily_revenue materialization before {before}"
    table = records[0].asset_materialization.metadata["latest"].value
    out = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        out[cells[0]] = round(float(cells[3].replace(",", "")), 2)
    return out


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_twenty_readers_while_three_days_land(tmp_path, module_env, postgres_instances):
    import dagster as dg

    from commercepulse.generate.writers import write_bootstrap, write_fx, write_live

    full = tmp_path / "full"
    write_bootstrap(full, seed=3, orders=150, year=2023)
    write_fx(full, 2025)
    write_live(full / "live_events", seed=9, start=FIRST, days=DAYS, events=3000)
    data = tmp_path / "data"
    shutil.copytree(full, data, ignore=shutil.ignore_patterns("live_events"))
    days = sorted(p.name for p in (full / "live_events").iterdir())
    for day in days[: DAYS - LATER]:
        copy_in(full, data, day, halves=False)
    settings, env = world(module_env, data, tmp_path, "readers", postgres_instances)
    code, output = main_job(env)
    assert code == 0, output[-3000:]
    latest = settings.warehouse_path.parent / "snapshots" / "latest.duckdb"
    assert latest.exists()

    stop = tmp_path / "stop"
    logs = [tmp_path / f"reader_{n}.jsonl" for n in range(READERS)]
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, str(latest), str(log), str(stop)])
        for log in logs
    ]
    held = tmp_path / "held.json"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(latest), str(held), str(stop)])
    log = tmp_path / "dagster_dev.log"
    started = time.monotonic()
    try:
        with dagster_dev_process(env, log):
            for day in days[DAYS - LATER :]:
                copy_in(full, data, day, halves=False)
                settle(env, days[: days.index(day) + 1], log)
            # the session stays open at least HOLD_S in all, across the landings
            time.sleep(max(0.0, HOLD_S - (time.monotonic() - started)))
    finally:
        stop.touch()
        for process in [*readers, holder]:
            process.wait(timeout=60)
    took = time.monotonic() - started

    lines = [json.loads(line) for path in logs for line in path.read_text().splitlines()]
    errors = [line["error"] for line in lines if "error" in line]
    assert errors == [], errors[:5]
    reads = sum(line["reads"] for line in lines if "reads" in line)
    seen = {line["snapshot"]: line for line in lines if "snapshot" in line}
    with instance_of(env) as instance:
        failed = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
        assert failed == [], [(r.job_name, r.run_id) for r in failed]
        for sid, line in sorted(seen.items()):
            # what the platform had published when the snapshot was (the refresh it names
            # materialized its KPIs just before publishing it)
            shown = published_revenue(instance, line["published"])
            mine = dict((day, net) for day, net in line["revenue"])
            assert {d: mine.get(d) for d in shown} == shown, sid
            assert instance.get_run_by_id(line["run"]).job_name == "refresh_job"
    # each landing's refresh published a snapshot that readers saw
    assert len(seen) >= LATER + 1, sorted(seen)
    holding = json.loads(held.read_text())
    assert holding["first"] == holding["again"]  # its session kept its snapshot throughout
    assert holding["held_s"] >= HOLD_S - 5
    assert holder.returncode == 0
    print(
        f"\n{READERS} readers, {reads} reads, {len(seen)} snapshots seen over {took:.0f} s; "
        f"one session held {holding['held_s']:.0f} s across {LATER} landings; 0 errors, "
        "0 failed runs"
    )
