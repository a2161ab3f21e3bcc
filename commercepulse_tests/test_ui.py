"""The analysts' surface in a real browser: `dagster dev` on a built world, headless Chromium
(Debian `chromium` driven by pip `playwright`). It opens the asset graph and a check's partition
view (screenshots in the test's folder, path printed), then drops a new day file and waits for
the KPIs to refresh by themselves. Run with `make ui-test`; skipped cleanly without a browser."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import date
from pathlib import Path

import pytest

from commercepulse_tests.harness import settings_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.ui,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium on this machine"),
]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def deployment(env, tmp_path, postgres_instances):
    """A world built by `commercepulse run`, then `dagster dev` serving it (daemon on)."""
    from commercepulse.generate.writers import write_bootstrap, write_fx, write_live

    data = tmp_path / "data"
    write_bootstrap(data, seed=3, orders=150, year=2023)
    write_fx(data, 2025)
    write_live(data / "live_events", seed=42, start=date(2025, 1, 14), days=2, events=400)
    settings = env.model_copy(update={"data_dir": data})
    database = f"cp_ui_{uuid.uuid4().hex[:8]}"
    postgres_instances._sql(f"CREATE DATABASE {database} TEMPLATE {postgres_instances.TEMPLATE}")
    process_env = {
        **settings_env(settings),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "DAGSTER_PG_URL": postgres_instances._database_url(database),
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run(
        [sys.executable, "-m", "commercepulse.cli", "run"],
        env=process_env,
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    port = free_port()
    log = open(tmp_path / "dagster-dev.log", "w")
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
        env=process_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/server_info", timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        pytest.fail(
            "dagster dev did not answer: " + (tmp_path / "dagster-dev.log").read_text()[-3000:]
        )
    yield {
        "url": url,
        "env": process_env,
        "data": data,
        "shots": tmp_path,
        "home": tmp_path / "dagster",
    }
    os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
    log.close()


def runs_of(deployment: dict, job: str):
    """The deployment's runs of a job, read from its instance (its dagster.yaml reads DAGSTER_PG_URL)."""
    import dagster as dg

    os.environ["DAGSTER_PG_URL"] = deployment["env"]["DAGSTER_PG_URL"]
    try:
        with dg.DagsterInstance.from_config(str(deployment["home"])) as instance:
            return instance.get_runs(filters=dg.RunsFilter(job_name=job))
    finally:
        del os.environ["DAGSTER_PG_URL"]


def test_asset_graph_check_partitions_and_a_new_day_flowing_to_kpis(deployment):
    from playwright.sync_api import sync_playwright

    url, shots = deployment["url"], deployment["shots"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{url}/asset-groups", wait_until="networkidle")
        page.wait_for_timeout(2000)
        for label in (
            "Skip",
            "Dismiss",
            "Close",
        ):  # Dagster's first-visit dialog (community invitation)
            button = page.get_by_role("button", name=label)
            if button.count():
                button.first.click()
                page.wait_for_timeout(500)
        page.keyboard.press("Escape")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(shots / "asset_graph.png"))
        page.goto(f"{url}/assets/events_raw?view=checks", wait_until="networkidle")
        page.get_by_text("duplicate_event_rate").first.click()
        page.get_by_role("tab", name="Partitions").last.click()  # the check's, not the asset's
        page.wait_for_timeout(2000)
        page.screenshot(path=str(shots / "check_partitions.png"))
        body = page.inner_text("body")
        assert "Passed (2)" in body, body[:2000]  # both landed days judged, shown per partition
        browser.close()

    # a new ingestion day arrives while the deployment runs
    started = time.monotonic()
    folder = deployment["data"] / "live_events" / "2025-01-16"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "commercepulse.cli",
            "generate",
            "live",
            "--out",
            str(deployment["data"] / "live_events"),
            "--date",
            "2025-01-16",
            "--events",
            "400",
            "--seed",
            "42",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env=deployment["env"],
    )
    assert (folder / "events.jsonl").is_file()
    before = {r.run_id for r in runs_of(deployment, "__ASSET_JOB")}
    deadline = time.monotonic() + 240
    refreshed = None
    while time.monotonic() < deadline and refreshed is None:
        time.sleep(3)
        ingested = [
            r
            for r in runs_of(deployment, "ingest_job")
            if r.tags.get("dagster/partition") == "2025-01-16"
        ]
        automated = [
            r
            for r in runs_of(deployment, "__ASSET_JOB")
            if r.run_id not in before and r.is_finished and r.is_success
        ]
        if ingested and automated:
            refreshed = time.monotonic() - started
    assert refreshed is not None, "the KPIs were not refreshed after the new day file"
    failed = [
        r
        for job in ("ingest_job", "business_day_job", "__ASSET_JOB", "reports_job")
        for r in runs_of(deployment, job)
        if r.is_finished and not r.is_success
    ]
    assert failed == []
    print(
        json.dumps({"new_day_to_refreshed_kpis_s": round(refreshed, 1), "screenshots": str(shots)})
    )
