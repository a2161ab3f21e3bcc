"""No personal data where it does not belong (SPEC §10), on a run of the data pack plus one day
of bad lines carrying e-mails and phones (quarantined, unmapped). Every surface the run leaves
is scanned for every e-mail and phone of the input, found here with a plain regex and the
vendors' phone keys, independently of the product's masking: the instance's event log (check
and materialization metadata, descriptions, logs), every report file and the overview, the alert
a failing check would post, `explain` of every KPI, and the quarantine previews. The operator's
`quarantine show` still gives the whole line."""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import date
from pathlib import Path

import orjson
import pytest

from commercepulse_tests.conftest import DATAPACK

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE_KEYS = ("phone", "buyerPhone", "customer_phone")
PROBE_DAY = "2025-01-16"
PROBE_LINES = [
    # not JSON: quarantined whole
    "not json at all: ada.probe@example.net, call 08031112222",
    # no event_id: quarantined
    '{"event_type": "order_created", "vendor": "vendor_b", "payload": {"buyerEmail": '
    '"leak.probe@example.org", "buyerPhone": "+2348099990001"}}',
    # a shape no mapping fits: unmapped (its keys are shown, never its values)
    '{"event_id": "probe-unmapped-1", "event_type": "order_created", "vendor": "vendor_zz", '
    '"event_time": "2025-01-16T10:00:00+01:00", "payload": {"contact": '
    '"hidden.probe@example.com", "mobile": "+2348077770002"}}',
]


def personal_values(folder: Path) -> set[str]:
    """Every e-mail and phone in the input files (raw text and the vendors' phone keys)."""
    found: set[str] = set()
    for path in folder.rglob("*"):
        if path.suffix not in (".json", ".jsonl"):
            continue
        text = path.read_text(errors="replace")
        found.update(EMAIL.findall(text))
        for key in PHONE_KEYS:
            found.update(re.findall(rf'"{key}"\s*:\s*"([^"]+)"', text))
    found.update(["ada.probe@example.net", "08031112222", "+2348077770002"])
    return {v for v in found if len(v) >= 6}


def leaks(text: str, secrets: set[str]) -> list[str]:
    return sorted(s for s in secrets if s in text)


@pytest.fixture(scope="module")
def probe_world(tmp_path_factory, mongo_uri, mongo_home, postgres_instances):
    if not (DATAPACK / "bootstrap").is_dir():
        pytest.skip("../shared/datapack is absent")
    from commercepulse.mongo.client import get_database
    from commercepulse.reports.overview import write_overview
    from commercepulse.reports.writer import write_reports
    from commercepulse.runner import run_all
    from commercepulse.settings import Settings
    from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse

    base = tmp_path_factory.mktemp("privacy")
    data = base / "data"
    shutil.copytree(DATAPACK, data)
    (data / "live_events" / PROBE_DAY).mkdir(parents=True)
    (data / "live_events" / PROBE_DAY / "events.jsonl").write_text("\n".join(PROBE_LINES) + "\n")
    settings = Settings(
        mongo_uri=mongo_uri,
        mongo_db=f"pv_{uuid.uuid4().hex[:8]}",
        commercepulse_home=mongo_home,
        duckdb_path=base / "wh.duckdb",
        data_dir=data,
        reports_dir=base / "reports",
    )
    with postgres_instances.new() as instance:
        # every report of the pack costs a minute of charts: the run writes none, and the
        # report of the probe's day and of the pack's live day are written below, with the
        # overview (each report is built the same way; the days with bad lines are these)
        run_all(settings, say=lambda _: None, instance=instance, reports=False)
        db = get_database(settings.mongo_uri, settings.mongo_db)
        wh = DuckDBWarehouse(path=str(settings.warehouse_path))
        days = [date(2025, 1, 15), date.fromisoformat(PROBE_DAY)]
        write_reports(db, wh, days, settings.reports_dir, settings)
        write_overview(settings.reports_dir, settings.ui_base_url)
        yield settings, instance, personal_values(data)
    db.client.drop_database(settings.mongo_db)


@pytest.mark.slow  # a world of its own (~35 s): `make test-slow`, run by CI
def test_no_surface_of_a_run_shows_an_email_or_a_phone(probe_world):
    import dagster as dg

    from commercepulse.alerts import check_failing
    from commercepulse.explain import explain, latest_key
    from commercepulse.mongo.client import get_database
    from commercepulse.raw.quarantine import records
    from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse
    from commercepulse.warehouse.explainers import EXPLAINERS

    settings, instance, secrets = probe_world
    assert len(secrets) > 500  # the pack's customers, and the probe's

    found: dict[str, list[str]] = {}
    failing = []
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id):
            hit = leaks(str(entry), secrets)
            if hit:
                found[f"run {run.job_name} event {entry.dagster_event_type}"] = hit
            event = entry.dagster_event
            if event and event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                data = event.asset_check_evaluation_data
                if not data.passed:
                    failing.append(data)
    reports = [p for p in settings.reports_dir.rglob("*") if p.suffix in (".html", ".json", ".svg")]
    assert any(p.name == "index.html" for p in reports) and len(reports) >= 5
    for path in reports:
        hit = leaks(path.read_text(errors="replace"), secrets)
        if hit:
            found[str(path.relative_to(settings.reports_dir))] = hit
    assert failing, "the probe's bad lines fail the quarantine checks"
    for data in failing:
        alert = check_failing(
            data.check_name, data.partition, str(data.severity), False,
            data.description or "", ["team:x"], "http://ui",
        )  # fmt: skip
        hit = leaks(orjson.dumps(alert.payload()).decode(), secrets)
        if hit:
            found[f"alert {data.check_name}"] = hit
    wh = DuckDBWarehouse(path=str(settings.warehouse_path))
    db = get_database(settings.mongo_uri, settings.mongo_db)
    for kpi in EXPLAINERS:
        shown = orjson.dumps(explain(wh, db, kpi, latest_key(wh, kpi)).as_dict()).decode()
        if hit := leaks(shown, secrets):
            found[f"explain {kpi}"] = hit
    previews = records(db)
    assert len(previews) >= 2
    if hit := leaks(orjson.dumps(previews, default=str).decode(), secrets):
        found["quarantine previews"] = hit
    assert found == {}
    # masked, not dropped: the preview still says what kind of value was there
    assert any("a***@example.net" in r["text"] and "***2222" in r["text"] for r in previews)


@pytest.mark.slow
def test_the_operator_still_reads_the_whole_quarantined_line(probe_world):
    from typer.testing import CliRunner

    from commercepulse.cli import app
    from commercepulse.mongo.client import get_database
    from commercepulse.raw.quarantine import records

    settings, _, _ = probe_world
    mine = [
        r
        for r in records(get_database(settings.mongo_uri, settings.mongo_db))
        if "l***@example.org" in r["text"]
    ]
    assert len(mine) == 1
    env = {
        "MONGO_URI": settings.mongo_uri,
        "MONGO_DB": settings.mongo_db,
        "COMMERCEPULSE_HOME": str(settings.commercepulse_home),
        "DATA_DIR": str(settings.data_dir),
    }
    shown = CliRunner().invoke(
        app, ["quarantine", "show", f"{mine[0]['file']}:{mine[0]['line']}"], env=env
    )
    assert shown.exit_code == 0, shown.output
    assert "leak.probe@example.org" in shown.output and "+2348099990001" in shown.output
