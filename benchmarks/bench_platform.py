"""The platform's own overhead, as a user meets it (issue "Speed"): printed beside each target.

- `commercepulse run` on the data pack from a fresh state folder (its own mongod and PostgreSQL
  started, a persistent Dagster instance), whole process, median of RUNS;
- its "stage and model" step (business days of 2023 in one range run), and the same step on an
  ephemeral (in-memory) Dagster instance over the same warehouse;
- its reports (every processed day);
- `commercepulse ingest live` on ~105k lines, whole process, beside `insert_many` of the same
  documents into a collection with the same indexes, measured in the same run; and 4 day files
  with 1 and 2 worker processes.
`--all` adds `make test` on a fresh clone and `bench_backfill 365` (minutes each).

Run with `make bench` (or `python -m benchmarks.bench_platform [--all]`).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from benchmarks.common import BENCH_HOME, drop, fresh_db, uri

ROOT = Path(__file__).resolve().parents[1]
DATAPACK = ROOT.parent / "shared" / "datapack"
RUNS = 3
CLI = [sys.executable, "-m", "commercepulse.cli"]


def main_job_on_datapack(work: Path) -> dict:
    """One `commercepulse run` from a fresh state: wall time and its stage timings."""
    home = work / f"home-{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "COMMERCEPULSE_HOME": str(home),
        "DATA_DIR": str(DATAPACK),
        "REPORTS_DIR": str(home / "reports"),
        "DAGSTER_HOME": str(home / "dagster"),
    }
    env.pop("MONGO_URI", None)
    timings = home / "timings.json"
    started = time.perf_counter()
    subprocess.run(
        [*CLI, "run", "--timings", str(timings)], env=env, check=True, stdout=subprocess.DEVNULL
    )
    wall = time.perf_counter() - started
    stages = json.loads(timings.read_text())
    return {"home": home, "env": env, "wall_s": wall, "stages": stages}


def stop_services(env: dict) -> None:
    subprocess.run([*CLI, "mongo", "stop"], env=env, stdout=subprocess.DEVNULL)
    subprocess.run([*CLI, "instance", "stop"], env=env, stdout=subprocess.DEVNULL)


EPHEMERAL_STEP = """
import json, sys, time
import dagster as dg
from commercepulse.definitions import build_definitions
from commercepulse.defs.partitions import range_tags
from commercepulse.defs.resources import build_resources
from commercepulse.instance.home import event_batching_environment
from commercepulse.runner import QUIET
from commercepulse.settings import Settings
event_batching_environment()
defs = build_definitions(build_resources(Settings()), Settings().asset_owners)
first, last = sys.argv[1], sys.argv[2]
started = time.perf_counter()
result = defs.resolve_job_def("business_day_job").execute_in_process(
    instance=dg.DagsterInstance.ephemeral(), run_config=QUIET, tags=range_tags(first, last))
print(json.dumps({"seconds": time.perf_counter() - started, "success": result.success}))
"""


def ephemeral_step(env: dict, label: str) -> float:
    first, last = label.split(" ", 1)[1].split("..")
    out = subprocess.run(
        [sys.executable, "-c", EPHEMERAL_STEP, first, last],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def ingest_figures(work: Path) -> dict:
    from benchmarks.bench_ingest import parsed_distinct
    from commercepulse.generate.writers import write_live
    from commercepulse.mongo.indexes import INDEXES, RAW

    [path] = write_live(work / "one", seed=11, start=date(2025, 6, 1), days=1, events=100_000)
    lines = len(path.read_bytes().splitlines())
    env = {**os.environ, "MONGO_URI": uri()}
    out = {"lines": lines}
    for workers in (1, 2):
        env["MONGO_DB"] = f"bench_cli_{uuid.uuid4().hex[:6]}"
        started = time.perf_counter()
        subprocess.run(
            [*CLI, "ingest", "live", str(path), "--workers", str(workers)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        out[f"cli_{workers}_s"] = time.perf_counter() - started
        drop(fresh_db("x").client[env["MONGO_DB"]])
    docs = parsed_distinct(path)
    db = fresh_db("bench_floor")
    db[RAW].create_indexes(INDEXES[RAW])
    started = time.perf_counter()
    db[RAW].insert_many([dict(d) for d in docs], ordered=False)
    out["floor_s"] = time.perf_counter() - started
    out["distinct"] = len(docs)
    drop(db)
    days = write_live(work / "four", seed=12, start=date(2025, 7, 1), days=4, events=25_000)
    for workers in (1, 2):
        env["MONGO_DB"] = f"bench_files_{uuid.uuid4().hex[:6]}"
        started = time.perf_counter()
        subprocess.run(
            [*CLI, "ingest", "live", *map(str, days), "--workers", str(workers)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        out[f"files_{workers}_s"] = time.perf_counter() - started
        out["files_lines"] = sum(len(p.read_bytes().splitlines()) for p in days)
    return out


def row(name: str, value: str, target: str, note: str = "") -> str:
    return f"| {name} | {value} | {target} | {note} |"


def main(everything: bool = False) -> None:
    if not (DATAPACK / "bootstrap").is_dir():
        sys.exit(f"the data pack is not at {DATAPACK}")
    work = Path(tempfile.mkdtemp(prefix="cp-bench-platform-", dir=BENCH_HOME.parent))
    runs = []
    try:
        for _ in range(RUNS):
            runs.append(main_job_on_datapack(work))
            stop_services(runs[-1]["env"])
        last = runs[-1]
        step = next(k for k in last["stages"] if k.startswith("business_day_job 2023"))
        subprocess.run(
            [*CLI, "mongo", "start"], env=last["env"], check=True, stdout=subprocess.DEVNULL
        )
        ephemeral = ephemeral_step(last["env"], step)
        stop_services(last["env"])
    finally:
        for run in runs:
            stop_services(run["env"])
    walls = [r["wall_s"] for r in runs]
    steps = [r["stages"][step] for r in runs]
    reports = [sum(v for k, v in r["stages"].items() if k.startswith("reports_job")) for r in runs]
    ingest = ingest_figures(work)
    lines = [
        "| figure | measured (median of 3 where repeated) | target | floor / note |",
        "|---|---|---|---|",
        row(
            "`commercepulse run` on the data pack, fresh state, persistent instance",
            f"{statistics.median(walls):.1f} s ({', '.join(f'{w:.1f}' for w in walls)})",
            "≤ 30 s",
            "whole process: starts mongod and PostgreSQL, lands, models, checks, reports",
        ),
        row(
            f"its step `{step}`",
            f"{statistics.median(steps):.1f} s",
            "≤ 10 s, ≤ 1.5× ephemeral",
            f"ephemeral instance: {ephemeral:.1f} s → {statistics.median(steps) / ephemeral:.2f}×",
        ),
        row(
            "its reports (every processed day)", f"{statistics.median(reports):.1f} s", "≤ 10 s", ""
        ),
        row(
            f"`commercepulse ingest live`, {ingest['lines']:,} lines, whole process",
            f"{ingest['lines'] / ingest['cli_2_s']:,.0f} lines/s ({ingest['cli_2_s']:.2f} s, 2 workers); "
            f"{ingest['lines'] / ingest['cli_1_s']:,.0f}/s with 1",
            "≥ 0.8× same-index floor",
            f"floor: insert_many of the {ingest['distinct']:,} documents, same indexes, {ingest['floor_s']:.2f} s "
            f"→ {ingest['floor_s'] / ingest['cli_2_s']:.2f}× (2 workers), "
            f"{ingest['floor_s'] / ingest['cli_1_s']:.2f}× (1)",
        ),
        row(
            f"4 day files, {ingest['files_lines']:,} lines",
            f"{ingest['files_1_s']:.2f} s with 1 worker, {ingest['files_2_s']:.2f} s with 2",
            "scales with cores",
            f"speed-up {ingest['files_1_s'] / ingest['files_2_s']:.2f}× on {os.cpu_count()} cores "
            "(mongod shares them)",
        ),
    ]
    if everything:
        lines += extra_rows(work)
    print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)


def extra_rows(work: Path) -> list[str]:
    clone = work / "clone" / "main"
    clone.parent.mkdir()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (clone.parent / "shared").symlink_to(ROOT.parent / "shared")
    started = time.perf_counter()
    subprocess.run(["make", "test"], cwd=clone, check=True, stdout=subprocess.DEVNULL)
    test_s = time.perf_counter() - started
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_backfill", "365"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    year = json.loads(out.stdout)
    return [
        row("`make test` on a fresh clone (install included)", f"{test_s:.0f} s", "≤ 180 s", ""),
        row(
            f"`bench_backfill 365` ({year['lines']:,} lines) whole run incl. landing and reports",
            f"{year['wall_s']:.0f} s",
            "≤ 90 s",
            f"landed raw to all KPIs {year['landed_raw_to_all_kpis_s']} s",
        ),
    ]


if __name__ == "__main__":
    main("--all" in sys.argv)
