"""The analysts' surface in a real browser: `dagster dev` on a built world, headless Chromium
(Debian `chromium` driven by pip `playwright`). It opens the asset graph and a check's partition
view (screenshots in the test's folder, path printed), then drops a new day file and waits for
the KPIs to refresh by themselves (seconds printed), then walks the analyst's path: a broken day
diagnosed from the check metadata, late payments below and beyond materiality, a KPI page, the
explain job from the Launchpad, the report of a day that restated another, and a backfill
followed by exactly one refresh. Run with `make ui-test`; skipped cleanly without a browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from commercepulse_tests.dagster_dev import dagster_dev, graphql, launch_backfill, wait_for
from commercepulse_tests.harness import settings_env
from commercepulse_tests.receiver import Receiver

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
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
    receiver = Receiver()  # the on-call channel: the alert sensor posts here
    process_env = {
        **settings_env(settings),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "DAGSTER_PG_URL": postgres_instances._database_url(database),
        "ALERT_WEBHOOK_URL": receiver.url,
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run(
        [sys.executable, "-m", "commercepulse.cli", "run"],
        env=process_env,
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    with dagster_dev(["-w", "workspace.yaml"], process_env, tmp_path / "dagster-dev.log") as url:
        yield {
            "url": url,
            "env": process_env,
            "data": data,
            "reports": settings.reports_dir,
            "shots": tmp_path,
            "home": tmp_path / "dagster",
            "alerts": receiver.posts,
        }
    receiver.down()


@contextmanager
def deployment_instance(deployment: dict):
    """The deployment's instance (its dagster.yaml reads DAGSTER_PG_URL)."""
    import dagster as dg

    os.environ["DAGSTER_PG_URL"] = deployment["env"]["DAGSTER_PG_URL"]
    try:
        with dg.DagsterInstance.from_config(str(deployment["home"])) as instance:
            yield instance
    finally:
        del os.environ["DAGSTER_PG_URL"]


def runs_of(deployment: dict, job: str):
    import dagster as dg

    with deployment_instance(deployment) as instance:
        return instance.get_runs(filters=dg.RunsFilter(job_name=job))


SENSOR_TICKS = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
  ... on Sensor { sensorState { ticks(limit: 5) { status skipReason } } } } }"""


def sensor_skips(url: str, sensor: str) -> list[str]:
    """The skip reasons of a sensor's latest ticks, from the webserver's GraphQL API."""
    found = graphql(
        url,
        SENSOR_TICKS,
        {
            "s": {
                "repositoryName": "__repository__",
                "repositoryLocationName": "commercepulse",
                "sensorName": sensor,
            }
        },
    )["sensorOrError"]
    return [t["skipReason"] or "" for t in found["sensorState"]["ticks"]]


def acknowledge(deployment: dict, days: str, note: str) -> subprocess.CompletedProcess:
    """`commercepulse acknowledge DAYS --note NOTE --by ada` against the deployment."""
    return subprocess.run(
        [sys.executable, "-m", "commercepulse.cli", "acknowledge", days, "--note", note,
         "--by", "ada"],
        env=deployment["env"], cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip


def runs_of_day(deployment: dict, job: str, day: str):
    return [r for r in runs_of(deployment, job) if r.tags.get("dagster/partition") == day]


def kpis_refreshed_after(deployment: dict, since: float) -> float | None:
    """Seconds from `since` to the first KPI refresh after it (None before it)."""
    import dagster as dg

    with deployment_instance(deployment) as instance:
        found = instance.fetch_materializations(dg.AssetKey("kpi_daily_revenue"), limit=1).records
    return found[0].timestamp - since if found and found[0].timestamp > since else None


def drop_day(deployment: dict, day: str, lines: list[str]) -> float:
    """A day file appearing whole in DATA_DIR/live_events (written aside, then renamed); its time."""
    folder = deployment["data"] / "live_events" / day
    folder.mkdir(parents=True)
    aside = folder.parent / f".{day}.jsonl"
    aside.write_text("\n".join(lines) + "\n")
    since = time.time()
    aside.rename(folder / "events.jsonl")
    return since


def envelope(event_id, event_type, event_time, vendor, payload, ingested_at):
    return json.dumps(
        {
            "event_id": event_id,
            "event_type": event_type,
            "event_time": event_time,
            "vendor": vendor,
            "ingested_at": ingested_at,
            "payload": payload,
        }
    )


def order_line(event_id: str, day: str, ref: str, total: int) -> str:
    payload = {
        "orderRef": ref,
        "created": f"{day} 08:00",
        "customer": {"email": f"{ref.lower()}@example.com"},
        "total": total,
        "currency": "NGN",
        "region": "Lagos",
        "items": [{"sku": "SKU-0001", "qty": 1, "price": total}],
    }
    return envelope(
        event_id, "order_created", f"{day}T08:00:00Z", "vendor_a", payload, f"{day}T09:00:00Z"
    )


def late_payment(event_id: str, paid_day: str, landed_day: str, amount: int) -> str:
    payload = {
        "order_id": f"ORD-{event_id.upper()}",
        "paid_at": f"{paid_day}T09:00:00Z",
        "payment_status": "SUCCESS",
        "amountPaid": amount,
        "currencyCode": "NGN",
        "channel": "card",
        "transaction_id": event_id,
    }
    return envelope(
        event_id, "payment_succeeded", f"{paid_day}T09:00:00Z", "vendor_b", payload,
        f"{landed_day}T09:00:00Z",
    )  # fmt: skip


def analyst_page(browser, viewport: dict):
    """A page that dismisses Dagster's first-visit dialog (the community invitation) whenever it
    shows up, however late after a page load, before any action it would cover."""
    page = browser.new_page(viewport=viewport)
    page.add_locator_handler(
        page.get_by_text("Join the Dagster community"),
        lambda: page.get_by_role("button", name="Skip").click(),
    )
    return page


def dismiss_first_visit_dialog(page) -> None:
    """The first page of a fresh instance: wait for Dagster's invitation and skip it, so the
    first screenshot shows the page."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=10_000)
        skip.click()
    except PlaywrightTimeout:
        pass  # not shown (dismissed before, or this Dagster has none)
    page.wait_for_timeout(1500)


def check_panel(page, url: str, asset: str, check: str) -> str:
    """The text of a check's panel (About, latest execution and its metadata)."""
    page.goto(f"{url}/assets/{asset}?view=checks", wait_until="networkidle")
    page.wait_for_timeout(1000)
    page.get_by_text(check, exact=True).first.click()
    page.wait_for_timeout(1500)
    return page.inner_text("body")


def test_the_analysts_path_in_the_browser(deployment):
    from playwright.sync_api import sync_playwright

    url, shots = deployment["url"], deployment["shots"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = analyst_page(browser, {"width": 1600, "height": 1000})
        page.goto(f"{url}/asset-groups", wait_until="networkidle")
        dismiss_first_visit_dialog(page)
        page.screenshot(path=str(shots / "asset_graph.png"))
        page.goto(f"{url}/assets/events_raw?view=checks", wait_until="networkidle")
        page.get_by_text("duplicate_event_rate").first.click()
        page.get_by_role("tab", name="Partitions").last.click()  # the check's, not the asset's
        page.wait_for_timeout(2000)
        page.screenshot(path=str(shots / "check_partitions.png"))
        body = page.inner_text("body")
        assert "Passed (2)" in body, body[:2000]  # both landed days judged, shown per partition
        browser.close()

    # 1. a new ingestion day arrives while the deployment runs: its KPIs refresh by themselves
    aside = deployment["shots"] / "new-day"
    subprocess.run(
        [sys.executable, "-m", "commercepulse.cli", "generate", "live", "--out", str(aside),
         "--date", "2025-01-16", "--events", "400", "--seed", "42"],
        check=True, stdout=subprocess.DEVNULL, env=deployment["env"],
    )  # fmt: skip
    since = time.time()
    (aside / "2025-01-16").rename(deployment["data"] / "live_events" / "2025-01-16")
    refreshed = wait_for(
        "the KPIs refreshed after the new day", lambda: kpis_refreshed_after(deployment, since)
    )
    figures = {"new_day_to_refreshed_kpis_s": round(refreshed, 1)}
    # its late events restated earlier days, some beyond materiality: those stay yellow in
    # revenue_drift until acknowledged; the analyst has checked them and accepts them (CLI, a range)
    said = acknowledge(deployment, "2025-01-01..2025-01-16", "late data of 2025-01-16 checked")
    assert said.returncode == 0 or "no material restatement open" in said.stderr, said.stderr

    # 2. a broken day: malformed lines, an unknown vendor, a late payment below materiality
    day = "2025-01-17"
    broken = [
        order_line("ui-valid-1", day, "ORD-UI-1", 5000),
        '{"event_id": "ui-bad-1", "vendor": "vendor_a", "event_type": "pay',  # line 2, cut
        "{oops",  # line 3
        json.dumps({"event_id": "ui-nt-1", "event_type": "order_created", "vendor": "vendor_c"}),
        json.dumps({"event_id": "ui-nt-2", "event_type": "order_created", "vendor": "vendor_c"}),
        envelope(
            "ui-z-1",
            "payment_succeeded",
            f"{day}T10:00:00Z",
            "vendor_z",
            {"weird": 1, "shape": "x"},
            f"{day}T10:30:00Z",
        ),  # fmt: skip
        late_payment("ui-late-small", "2025-01-14", day, 1234),  # < 10,000 NGN: not material
    ]
    since = drop_day(deployment, day, broken)
    wait_for(
        "the KPIs refreshed after the broken day", lambda: kpis_refreshed_after(deployment, since)
    )
    # 3. a late payment beyond materiality (50M NGN on 2025-01-15)
    big_day = "2025-01-18"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = analyst_page(browser, {"width": 1600, "height": 1100})
        quarantine = check_panel(page, url, "events_raw", "quarantine_open")
        file = f"live_events/{day}/events.jsonl"
        assert f"{file}:2 (vendor_a, invalid JSON)" in quarantine, quarantine[-2500:]
        page.get_by_text("[Show Markdown]").first.click()  # the findings table
        page.wait_for_timeout(1000)
        table = page.locator("[role=dialog]").inner_text()
        assert all(f"{file}:{n}" in table for n in (2, 3, 4, 5)) and "vendor_c" in table, table
        page.screenshot(path=str(shots / "quarantine_records.png"))
        page.keyboard.press("Escape")
        drift = check_panel(page, url, "stg_unmapped", "schema_drift")
        assert "vendor_z has no mapping: add DATA_DIR/mappings/vendor_z.json" in drift, drift[
            -2500:
        ]
        page.screenshot(path=str(shots / "schema_drift.png"))
        below = check_panel(page, url, "kpi_daily_revenue", "revenue_drift")
        assert "revenue_drift\nSucceeded" in below, below[:3000]  # restated 1,234 NGN: green

        since = drop_day(
            deployment, big_day,
            [order_line("ui-valid-2", big_day, "ORD-UI-2", 7000),
             late_payment("ui-late-big", "2025-01-15", big_day, 50_000_000)],
        )  # fmt: skip
        wait_for(
            "the KPIs refreshed after the big payment",
            lambda: kpis_refreshed_after(deployment, since),
        )
        above = check_panel(page, url, "kpi_daily_revenue", "revenue_drift")
        assert "revenue_drift\nFailed" in above, above[:3000]  # yellow (WARN)
        assert "2025-01-15 net revenue restated +50,000,000.00 NGN by 1 late payment" in above
        assert "What to do: read the restatement line" in above  # a failing check explains itself
        page.screenshot(path=str(shots / "revenue_drift_material.png"))

        # 4. a KPI page: every column described, the latest values beside them
        page.goto(f"{url}/assets/kpi_daily_revenue", wait_until="networkidle")
        page.wait_for_timeout(2000)
        kpi = page.inner_text("body")
        assert "successful payments of the day (NGN)" in kpi and "latest" in kpi, kpi[:3000]
        page.screenshot(path=str(shots / "kpi_page.png"), full_page=True)

        # 5. explain a figure from the Launchpad (defaults: kpi_daily_revenue, its latest day)
        page.goto(
            f"{url}/locations/commercepulse/jobs/explain_job/playground", wait_until="networkidle"
        )
        page.wait_for_timeout(2000)
        page.get_by_role("button", name="Launch Run").click()
        run = wait_for(
            "the explain run succeeded",
            lambda: next((r for r in runs_of(deployment, "explain_job") if r.is_success), None),
            timeout=120,
        )
        page.goto(f"{url}/runs/{run.run_id}", wait_until="networkidle")
        page.wait_for_timeout(2000)
        assert "row(s) behind kpi_daily_revenue" in page.inner_text("body")
        page.screenshot(path=str(shots / "explain_run.png"))

        # 6. the report of the day whose file restated another day shows it
        report = deployment["reports"] / big_day / "report.html"
        wait_for(
            "the report of the big payment's day",
            lambda: (
                report.is_file()
                and "Days restated by data that landed this day" in report.read_text()
            ),
            timeout=120,
        )
        page.goto(f"file://{report}")
        text = page.inner_text("body")
        caused = text[text.index("Days restated by data that landed this day") :]
        assert "2025-01-15 net revenue restated +50,000,000.00 NGN" in caused
        page.screenshot(path=str(shots / "report_restating_day.png"), full_page=True)
        browser.close()

    # 7. a backfill launched as the UI does (GraphQL): one refresh after it, only one
    before = {r.run_id for r in runs_of(deployment, "refresh_job")}
    backfill = launch_backfill(url, ["fact_payments"], ["2025-01-14", "2025-01-15"])
    wait_for(
        "the backfill's run finished",
        lambda: [r for r in runs_of(deployment, "__ASSET_JOB")
                 if r.tags.get("dagster/backfill") == backfill and r.is_finished],
        timeout=180,
    )  # fmt: skip
    refreshes = wait_for(
        "a refresh after the backfill",
        lambda: [r for r in runs_of(deployment, "refresh_job")
                 if r.run_id not in before and r.is_finished],
        timeout=120,
    )  # fmt: skip
    time.sleep(25)  # what else the backfill causes would be requested by now
    after = [r for r in runs_of(deployment, "refresh_job") if r.run_id not in before]
    assert len(after) == 1 and after[0].tags.get("commercepulse/trigger") == "refresh_whole_history"
    assert refreshes[0].is_success

    failed = [
        r
        for job in ("ingest_job", "business_day_job", "refresh_job", "reports_job", "explain_job")
        for r in runs_of(deployment, job)
        if r.is_finished and not r.is_success
    ]
    assert failed == []

    # 8. a warning stays where it happened: the backfill's refresh restated nothing, and
    # revenue_drift still names 2025-01-15 until an analyst acknowledges it (from the CLI here);
    # then it is green at once, and the day's report says who accepted it and why
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = analyst_page(browser, {"width": 1600, "height": 1100})
        still = check_panel(page, url, "kpi_daily_revenue", "revenue_drift")
        assert "revenue_drift\nFailed" in still, still[:3000]
        assert "2025-01-15 net revenue restated +50,000,000.00 NGN" in still
        since = time.time()
        said = acknowledge(deployment, "2025-01-15", "vendor_a settled a backlog")
        assert said.returncode == 0, said.stderr
        assert "2025-01-15 net revenue" in said.stdout and "accepted" in said.stdout
        green = check_panel(page, url, "kpi_daily_revenue", "revenue_drift")
        assert "revenue_drift\nSucceeded" in green, green[:3000]
        page.screenshot(path=str(shots / "revenue_drift_acknowledged.png"))
        acknowledged = deployment["reports"] / "2025-01-15" / "report.html"
        wait_for(
            "the acknowledged day's report rewritten",
            lambda: (
                acknowledged.stat().st_mtime > since
                and "by ada: vendor_a settled a backlog" in acknowledged.read_text()
            ),
            timeout=120,
        )
        browser.close()

    # 9. the on-call view: the live stream stopped in January 2025, so its latest due day is
    # overdue; the freshness sensor records it and the alert names the owners. The overview
    # (REPORTS_DIR/index.html, linked from quality_reports) says the same at its top.
    alert = wait_for(
        "the freshness alert",
        lambda: [a for a in deployment["alerts"] if a.get("check") == "events_raw:ingestion_freshness"],
        timeout=150,
    )[0]  # fmt: skip
    assert alert["owners"] == ["team:ingestion"] and "is overdue" in alert["text"], alert
    index = Path(deployment["reports"]) / "index.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(index.resolve().as_uri())
        text = page.inner_text("body")
        assert "Freshness now" in text and "is overdue" in text and "vendor_feed_anomalies" in text
        page.screenshot(path=str(shots / "quality_overview.png"), full_page=True)
        # realities SPEC expects every day are judged against their normal: never yellow here
        normal = (
            "fact_refunds:refunds_without_payment",
            "dim_customer:customer_email_conflicts",
            "silver_orders:order_status_backwards",
            "fact_platform_orders:orders_without_created",
        )
        for key in normal:
            cells = page.locator(f"tr:has(td.name a:text-is('{key}')) a.cell")
            states = {cells.nth(i).get_attribute("class") for i in range(cells.count())}
            assert states and not {"cell warn", "cell fail"} & states, (key, states)

        # 10. tomorrow's file (a vendor in Lagos names it an hour before the UTC day begins):
        # not landed, and the sensor's tick and the overview say how long it waits
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        drop_day(deployment, tomorrow, [order_line("ui-tomorrow-1", tomorrow, "ORD-UI-T", 900)])
        wait_for(
            "the overview names tomorrow's file",
            lambda: f"{tomorrow} waits for its UTC day" in index.read_text(),
            timeout=60,
        )
        page.goto(index.resolve().as_uri())
        assert "Files waiting for their UTC day" in page.inner_text("body")
        # the sensor's ticks, as its page in the UI reads them (the skip reason is its tooltip)
        ticks = wait_for(
            "new_data_files' tick naming tomorrow's file",
            lambda: [t for t in sensor_skips(url, "new_data_files") if tomorrow in t],
            timeout=60,
        )
        assert f"{tomorrow} waits for its UTC day" in ticks[0], ticks
        page.goto(f"{url}/locations/commercepulse/sensors/new_data_files", wait_until="networkidle")
        page.wait_for_timeout(2000)
        page.screenshot(path=str(shots / "tomorrows_file.png"), full_page=True)
        browser.close()
        assert not runs_of_day(deployment, "ingest_job", tomorrow)
    print(json.dumps({**figures, "screenshots": str(shots)}))
