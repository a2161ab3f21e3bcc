"""A soak under continuous arrivals: `dagster dev` (daemon on) for MINUTES while a new day file
lands every INTERVAL seconds and an analyst backfill of 30 business days is launched twice
through GraphQL (as the UI launches one).

Prints: files dropped and landed, runs by job and status (0 failed expected), lock errors in the
deployment's log, seconds from the last drop to refreshed KPIs, and the RSS of the code server
and the daemon at the start and the end (flat expected), and once a minute in between (so a
warm-up is told from steady growth).

    make bench-soak                                  # 20 minutes, a day every 30 s
    python -m benchmarks.bench_soak --minutes 10 --interval 40
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks.bench_new_day import CLI, _kpis_refreshed_after, _world
from commercepulse_tests.dagster_dev import dagster_dev, launch_backfill

FIRST_NEW_DAY = date(2025, 1, 16)
BACKFILL_DAYS = [(date(2023, 6, 1) + timedelta(days=n)).isoformat() for n in range(30)]
#: how `dagster dev` starts them: `-m dagster._daemon run`; the code server `-m dagster api grpc`
#: and its proxy `-m dagster code-server start` (summed as one role)
ROLES = {
    "daemon": re.compile(r"-m dagster\._daemon|dagster-daemon"),
    "code server": re.compile(r"-m dagster api grpc|-m dagster code-server"),
}


def rss_by_role() -> dict[str, int]:
    """Resident MB of the daemon and the code server processes (summed per role)."""
    out = dict.fromkeys(ROLES, 0)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = (proc / "status").read_text()
        except OSError:
            continue
        for role, pattern in ROLES.items():
            if pattern.search(command):
                kb = next(
                    int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")
                )
                out[role] += kb // 1024
    return out


def backfill_assets() -> list[str]:
    """What the analyst backfills: every asset of the business-day job."""
    from commercepulse.definitions import build_definitions
    from commercepulse.defs.resources import build_resources
    from commercepulse.settings import Settings

    job = build_definitions(build_resources(Settings()), {}).resolve_job_def("business_day_job")
    return sorted(k.to_user_string() for k in job.asset_layer.executable_asset_keys)


def main(minutes: float, interval: float, events: int) -> dict:
    import dagster as dg

    assets = backfill_assets()
    with tempfile.TemporaryDirectory(prefix="cp-soak-") as tmp:
        work = Path(tmp)
        env = _world(work)
        log = work / "dagster-dev.log"
        dropped: list[str] = []
        try:
            with dagster_dev(["-w", "workspace.yaml"], env, log) as url:
                time.sleep(20)  # the sensors' first ticks
                first_rss = rss_by_role()
                series: dict[str, list[int]] = {role: [mb] for role, mb in first_rss.items()}
                started = time.monotonic()
                backfill_at = [minutes * 60 * 0.25, minutes * 60 * 0.6]
                backfills: list[str] = []
                day = FIRST_NEW_DAY
                while time.monotonic() - started < minutes * 60:
                    aside = work / f"new-{day}"
                    subprocess.run(
                        [*CLI, "generate", "live", "--out", str(aside), "--date", str(day),
                         "--events", str(events), "--seed", str(len(dropped) + 7)],
                        env=env, check=True, stdout=subprocess.DEVNULL,
                    )  # fmt: skip
                    (aside / str(day)).rename(Path(env["DATA_DIR"]) / "live_events" / str(day))
                    dropped.append(str(day))
                    last_drop = time.time()
                    day += timedelta(days=1)
                    while backfill_at and time.monotonic() - started >= backfill_at[0]:
                        backfills.append(launch_backfill(url, assets, BACKFILL_DAYS))
                        backfill_at.pop(0)
                    time.sleep(max(0.0, interval - (time.time() - last_drop)))
                    if (time.monotonic() - started) // 60 >= len(next(iter(series.values()))):
                        for role, mb in rss_by_role().items():  # one sample a minute
                            series.setdefault(role, []).append(mb)
                os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
                with dg.DagsterInstance.get() as instance:
                    deadline = time.monotonic() + 300
                    lag = None
                    while lag is None and time.monotonic() < deadline:
                        time.sleep(1)
                        lag = _kpis_refreshed_after(instance, last_drop)
                    time.sleep(30)  # let what is queued finish
                    landed = set(instance.get_materialized_partitions(dg.AssetKey("events_raw")))
                    runs = instance.get_run_records(limit=5000)
                last_rss = rss_by_role()
        finally:
            subprocess.run([*CLI, "mongo", "stop"], env=env, stdout=subprocess.DEVNULL)
            subprocess.run([*CLI, "instance", "stop"], env=env, stdout=subprocess.DEVNULL)
            text = log.read_text(errors="replace") if log.exists() else ""
            shutil.copy(log, Path(tempfile.gettempdir()) / "cp-soak-dagster-dev.log")
    by_job: dict[str, dict[str, int]] = {}
    for record in runs:
        run = record.dagster_run
        by_job.setdefault(run.job_name, {}).setdefault(run.status.value, 0)
        by_job[run.job_name][run.status.value] += 1
    summary = {
        "minutes": minutes,
        "interval_s": interval,
        "events_per_day": events,
        "days_dropped": len(dropped),
        "days_landed": len(set(dropped) & landed),
        "backfills_launched": len(backfills),
        "runs": by_job,
        "failed_runs": sum(v.get("FAILURE", 0) for v in by_job.values()),
        "lock_errors_in_log": len(re.findall(r"Could not set lock|database is locked", text)),
        "last_drop_to_refreshed_kpis_s": None if lag is None else round(lag, 1),
        "rss_mb_first": first_rss,
        "rss_mb_last": last_rss,
        # a minute apart from the start: warm-up (caches, the first backfill) vs growth
        "rss_mb_per_minute": series,
    }
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--interval", type=float, default=30)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    main(args.minutes, args.interval, args.events)
