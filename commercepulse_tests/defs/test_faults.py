"""Faults against real processes: the main job killed with SIGKILL at each stage, then re-run,
converges to what a clean run builds (warehouse tables, raw store, reports)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import orjson
import pandas as pd
import pytest

from commercepulse.mongo.client import get_database
from commercepulse_tests.harness import (
    alive,
    fork_servers,
    pool_workers,
    settings_env,
    warehouse_of,
)

#: which run wrote a row and when, and when a dump record was landed (bootstrap events carry their
#: landing time as ingested_at): not content
RUN_SPECIFIC = {"run_id", "reported_at", "ingested_at", "published_at", "version_id", "recorded_at"}
AUDIT_FIELDS = {
    "first_seen_at",
    "last_seen_at",
    "quarantined_at",
}  # when the raw store saw an event: not content


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    """A small world: a year of dumps (150 orders) and two live days."""
    from commercepulse.generate.writers import write_bootstrap, write_fx, write_live

    data = tmp_path_factory.mktemp("fault_data")
    write_bootstrap(data, seed=3, orders=150, year=2023)
    write_fx(data, 2025)
    write_live(data / "live_events", seed=5, start=date(2025, 1, 14), days=2, events=400)
    return data


def world(env, data: Path, tmp: Path, name: str, postgres_instances):
    """Settings of one run world (its own raw database, warehouse, reports, Dagster instance)."""
    settings = env.model_copy(
        update={
            "data_dir": data,
            "mongo_db": f"{env.mongo_db}_{name}",
            "duckdb_path": tmp / f"{name}.duckdb",
            "reports_dir": tmp / f"{name}_reports",
        }
    )
    database = f"cp_fault_{uuid.uuid4().hex[:8]}"
    postgres_instances._sql(f"CREATE DATABASE {database} TEMPLATE {postgres_instances.TEMPLATE}")
    process_env = {
        **settings_env(settings),
        "DAGSTER_HOME": str(tmp / f"{name}_dagster"),
        "PYTHONUNBUFFERED": "1",
        "DAGSTER_PG_URL": postgres_instances._database_url(database),
    }
    return settings, process_env


def main_job(
    process_env: dict, kill_after: str | None = None, delay: float = 0.0
) -> tuple[int, str]:
    """`commercepulse run` in its own process; with `kill_after`, SIGKILL `delay` s after that stage starts."""
    process = subprocess.Popen(
        [sys.executable, "-m", "commercepulse.cli", "run"],
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    helpers: list[int] = []
    for line in process.stdout:
        lines.append(line)
        if kill_after and line.startswith(f"→ {kill_after}"):
            time.sleep(delay)
            helpers = fork_servers(process.pid) + pool_workers(process.pid)
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=600)
    # its worker processes and their fork server do not outlive it
    deadline = time.monotonic() + 15
    while (left := alive(helpers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"worker processes outlived the killed run: {left}"
    return process.returncode, "".join(lines)


#: Records of each publication (one row per refresh, its run and time): how many there are
#: depends on how the work was split into runs, not on the data.
PUBLICATIONS = {"snapshot_info"}


def warehouse_state(settings) -> dict[str, list[tuple]]:
    wh = warehouse_of(settings)
    names = wh.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
    )["table_name"].tolist()
    state = {}
    for name in names:
        if name in PUBLICATIONS:
            continue
        frame = wh.table(name)
        frame = frame.drop(columns=[c for c in frame.columns if c in RUN_SPECIFIC])
        if (
            name == "revenue_snapshots"
        ):  # an audit log of reports: a re-run reports the same figures again
            frame = frame.drop_duplicates()
        rows = [
            tuple(
                "<NA>" if pd.isna(v) else (round(v, 6) if isinstance(v, float) else str(v))
                for v in row
            )
            for row in frame.itertuples(index=False)
        ]
        state[name] = sorted(rows)
    return state


def differences(got: dict, want: dict) -> dict:
    """Per differing table: a few rows only the re-run has, and a few only the clean run has."""
    out = {}
    for name in sorted(set(got) | set(want)):
        extra, missing = (
            set(got.get(name, [])) - set(want.get(name, [])),
            set(want.get(name, [])) - set(got.get(name, [])),
        )
        if extra or missing or len(got.get(name, [])) != len(want.get(name, [])):
            out[name] = {
                "rows": (len(got.get(name, [])), len(want.get(name, []))),
                "only_rerun": sorted(extra)[:2],
                "only_clean": sorted(missing)[:2],
            }
    return out


def report_differences(got: dict, want: dict) -> dict:
    """Per differing day: the report fields whose values differ."""
    out = {}
    for day in sorted(set(got) | set(want)):
        a, b = got.get(day, {}).get("report", {}), want.get(day, {}).get("report", {})
        fields = {
            k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k) and k != "kpis"
        }
        fields.update(
            {
                f"kpis.{k}": (a["kpis"].get(k), b["kpis"].get(k))
                for k in set(a.get("kpis", {}))
                if a["kpis"].get(k) != b.get("kpis", {}).get(k)
            }
        )
        if fields or got.get(day, {}).get("files") != want.get(day, {}).get("files"):
            out[day] = fields
    return out


def raw_state(settings) -> dict[str, list]:
    """Every raw and quarantined document, less when it was seen (a dump record's ingested_at is its landing time)."""
    db = get_database(settings.mongo_uri, settings.mongo_db)

    def content(doc: dict) -> bytes:
        skip = AUDIT_FIELDS | (
            {"ingested_at"} if doc.get("source", {}).get("kind") == "bootstrap" else set()
        )
        return orjson.dumps(
            {k: v for k, v in doc.items() if k not in skip},
            option=orjson.OPT_SORT_KEYS,
            default=str,
        )

    return {
        name: sorted(content(doc) for doc in db[name].find())
        for name in ("events_raw", "events_quarantine")
    }


def reports_state(folder: Path) -> dict[str, dict]:
    assert not list(folder.rglob("*.tmp")), "a half-written report file was left behind"
    state = {}
    for day in sorted(p for p in folder.iterdir() if p.is_dir()):
        report = orjson.loads((day / "quality.json").read_bytes())  # complete JSON, or this raises
        report.pop("generated_at")
        html = (day / "report.html").read_text()
        assert html.rstrip().endswith("</html>")
        state[day.name] = {"report": report, "files": sorted(p.name for p in day.iterdir())}
    return state


@pytest.fixture(scope="module")
def clean_run(small_data, tmp_path_factory, request):
    env = request.getfixturevalue("module_env")
    instances = request.getfixturevalue("postgres_instances")
    tmp = tmp_path_factory.mktemp("clean")
    settings, process_env = world(env, small_data, tmp, "clean", instances)
    code, output = main_job(process_env)
    assert code == 0, output[-3000:]
    yield {
        "warehouse": warehouse_state(settings),
        "raw": raw_state(settings),
        "reports": reports_state(settings.reports_dir),
    }
    get_database(settings.mongo_uri, settings.mongo_db).client.drop_database(settings.mongo_db)


@pytest.mark.slow
@pytest.mark.parametrize(
    "stage, delay",
    [
        ("bootstrap_job", 0.8),  # landing the dumps
        ("ingest_job", 0.5),  # landing live days
        ("business_day_job", 1.0),  # staging
        ("business_day_job", 4.0),  # facts and dims
        ("refresh_job", 1.0),  # checks and KPIs
        ("reports_job", 1.5),  # reports half-written
    ],
)
def test_sigkill_anywhere_then_rerun_equals_a_clean_run(
    small_data, tmp_path, module_env, postgres_instances, clean_run, stage, delay
):
    settings, process_env = world(module_env, small_data, tmp_path, "killed", postgres_instances)
    code, output = main_job(process_env, kill_after=stage, delay=delay)
    assert code == -signal.SIGKILL, (
        f"the run ended before it could be killed at {stage}:\n{output[-2000:]}"
    )
    code, output = main_job(process_env)  # a plain re-run
    assert code == 0, output[-3000:]
    state = warehouse_state(settings)
    assert state == clean_run["warehouse"], differences(state, clean_run["warehouse"])
    raw = raw_state(settings)
    assert raw == clean_run["raw"], differences(raw, clean_run["raw"])
    reports = reports_state(settings.reports_dir)
    assert reports == clean_run["reports"], report_differences(reports, clean_run["reports"])
    get_database(settings.mongo_uri, settings.mongo_db).client.drop_database(settings.mongo_db)
