"""A new day file under `dagster dev` (daemon on), as an analyst's deployment meets it: seconds
from the file's arrival to refreshed KPIs, and the timeline of every run it caused.

A fresh state folder (its own mongod and PostgreSQL), a small world built by `commercepulse run`,
then `dagster dev` serving it; DAYS new day files are dropped one after another, each once the
previous one reached the KPIs. Prints, per day: seconds to the KPIs' refresh, and each run (job,
created / started / ended, seconds after the file landed). Target (issue 22): <= 30 s.

Run with `make bench-new-day` (or `python -m benchmarks.bench_new_day [DAYS]`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from commercepulse.defs.landing_contract import TRIGGER
from commercepulse_tests.dagster_dev import dagster_dev

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "commercepulse.cli"]
FIRST_NEW_DAY = date(2025, 1, 16)
SETTLE_SECONDS = 20  # the sensors' first ticks after start (cursors, the landed files)
TIMEOUT_SECONDS = 240


def _world(work: Path) -> dict[str, str]:
    from commercepulse.generate.writers import write_bootstrap, write_fx, write_live

    data = work / "data"
    write_bootstrap(data, seed=3, orders=150, year=2023)
    write_fx(data, 2025)
    write_live(data / "live_events", seed=42, start=date(2025, 1, 14), days=2, events=400)
    env = {
        **os.environ,
        "COMMERCEPULSE_HOME": str(work / "home"),
        "DAGSTER_HOME": str(work / "home" / "dagster"),
        "DATA_DIR": str(data),
        "REPORTS_DIR": str(work / "reports"),
        "PYTHONUNBUFFERED": "1",
        # as `make ui` exports them (Makefile)
        "DAGSTER_EVENT_BATCH_SIZE": "1000",
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1",
    }
    env.pop("MONGO_URI", None)
    subprocess.run([*CLI, "run"], env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    subprocess.run([*CLI, "instance", "prepare"], env=env, check=True, stdout=subprocess.DEVNULL)
    return env


def _timeline(instance, since: float) -> list[dict]:
    records = instance.get_run_records(limit=50)  # newest first
    out = []
    for record in records:
        created = record.create_timestamp.timestamp()
        if created < since:
            continue
        relative = lambda t: None if t is None else round(t - since, 1)  # noqa: E731
        out.append(
            {
                "job": record.dagster_run.job_name,
                "trigger": record.dagster_run.tags.get(TRIGGER)
                or record.dagster_run.tags.get("dagster/sensor_name")
                or "automation",
                "created": relative(created),
                "started": relative(record.start_time),
                "ended": relative(record.end_time),
                "status": record.dagster_run.status.value,
                "assets": sorted(
                    k.to_user_string() for k in record.dagster_run.asset_selection or ()
                ),
                "checks": sorted(
                    f"{k.asset_key.to_user_string()}:{k.name}"
                    for k in record.dagster_run.asset_check_selection or ()
                ),
                "steps_s": {
                    s.step_key: round(s.end_time - s.start_time, 2)
                    for s in instance.get_run_step_stats(record.dagster_run.run_id)
                    if s.end_time and s.start_time
                },
            }
        )
    return sorted(out, key=lambda r: r["created"])


def _kpis_refreshed_after(instance, since: float) -> float | None:
    import dagster as dg

    found = instance.fetch_materializations(dg.AssetKey("kpi_daily_revenue"), limit=1).records
    if not found or found[0].timestamp < since:
        return None
    return found[0].timestamp - since


def _new_days(env: dict, work: Path, days: int, results: list) -> None:
    """Drop `days` new day files one after another under the running `dagster dev`; time each."""
    import dagster as dg

    time.sleep(SETTLE_SECONDS)
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    with dg.DagsterInstance.get() as instance:
        for k in range(days):
            day = FIRST_NEW_DAY + timedelta(days=k)
            staging = work / f"new-{day}"
            subprocess.run(
                [*CLI, "generate", "live", "--out", str(staging), "--date", str(day),
                 "--events", "400", "--seed", str(42 + k)],
                env=env, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            target = Path(env["DATA_DIR"]) / "live_events" / str(day)
            since = time.time()
            (staging / str(day)).rename(target)  # the file appears at once, whole
            refreshed = None
            deadline = time.monotonic() + TIMEOUT_SECONDS
            while refreshed is None and time.monotonic() < deadline:
                time.sleep(0.5)
                refreshed = _kpis_refreshed_after(instance, since)
            time.sleep(12)  # what else the day causes (a second refresh would show here)
            results.append(
                {
                    "day": str(day),
                    "new_day_to_refreshed_kpis_s": None
                    if refreshed is None
                    else round(refreshed, 1),
                    "runs": _timeline(instance, since),
                }
            )


def main(days: int = 2) -> dict:
    with tempfile.TemporaryDirectory(prefix="cp-new-day-") as tmp:
        work = Path(tmp)
        env = _world(work)
        results = []
        try:
            with dagster_dev(["-w", "workspace.yaml"], env, work / "dagster-dev.log"):
                _new_days(env, work, days, results)
        finally:
            subprocess.run([*CLI, "mongo", "stop"], env=env, stdout=subprocess.DEVNULL)
            subprocess.run([*CLI, "instance", "stop"], env=env, stdout=subprocess.DEVNULL)
    summary = {
        "new_day_to_refreshed_kpis_s": [r["new_day_to_refreshed_kpis_s"] for r in results],
        "target_s": 30,
        "days": results,
    }
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
