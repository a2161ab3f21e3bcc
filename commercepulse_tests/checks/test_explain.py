"""`commercepulse explain`: the listed fact rows add up to the KPI exactly, and every listed raw
event is found at the file and line it names (read back from the data pack itself)."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from commercepulse.errors import InputError
from commercepulse.explain import EXPLAINERS, explain
from commercepulse.mongo.client import get_database
from commercepulse.raw.bootstrap import bootstrap_event_id
from commercepulse_tests.harness import settings_env, warehouse_of


@cache
def _file_lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


@cache
def _dump(path: Path) -> list:
    return json.loads(path.read_bytes())


def _found_at_its_line(datapack: Path, event: dict) -> bool:
    """The raw event is the record at the file and line the explanation names."""
    path = datapack / event["file"]
    if event["file"].startswith("bootstrap/"):
        kind = path.name.split("_")[0]
        return bootstrap_event_id(kind, _dump(path)[event["line"] - 1]) == event["event_id"]
    return json.loads(_file_lines(path)[event["line"] - 1])["event_id"] == event["event_id"]


def test_explanations_add_up_to_the_kpis_and_trace_to_file_lines(datapack_env, datapack):
    settings, _ = datapack_env
    wh, db = warehouse_of(settings), get_database(settings.mongo_uri, settings.mongo_db)
    revenue = wh.table("kpi_daily_revenue")
    # the live day, the busiest and the quietest bootstrap day, and a day with refunds
    days = {
        "2025-01-15",
        str(revenue.loc[revenue["gross_revenue_ngn"].idxmax(), "date"].date()),
        str(revenue.loc[revenue["gross_revenue_ngn"].idxmin(), "date"].date()),
        str(revenue.loc[revenue["refunds_ngn"].idxmax(), "date"].date()),
    }
    checked_events = 0
    for day in sorted(days):
        result = explain(wh, db, "kpi_daily_revenue", day)
        row = revenue[revenue["date"].dt.strftime("%Y-%m-%d") == day].iloc[0]
        assert result.matches is True, (day, result.figure, result.listed)
        assert result.listed["net_revenue_ngn"] == row["net_revenue_ngn"]
        assert round(sum(r["contribution"] for r in result.rows), 2) == row["net_revenue_ngn"]
        for listed in result.rows:
            assert listed["run_id"] and listed["events"]
            for event in listed["events"]:
                assert _found_at_its_line(datapack, event), event
                checked_events += 1
        # a vendor's rows are its part of the day: the vendors' parts add up to the whole day
        parts = [
            explain(wh, db, "kpi_daily_revenue", day, vendor=v).listed["net_revenue_ngn"]
            for v in ("vendor_a", "vendor_b", "vendor_c")
        ]
        assert round(sum(parts), 2) == pytest.approx(row["net_revenue_ngn"], abs=0.011)
    assert checked_events > 500

    refund_rate = wh.table("kpi_refund_rate")
    for day in (
        "2025-01-15",
        str(refund_rate.loc[refund_rate["refunded_orders"].idxmax(), "date"].date()),
    ):
        result = explain(wh, db, "kpi_refund_rate", day)
        assert result.matches is True, (day, result.figure, result.listed)
        assert result.figure["paid_orders"] == len(result.rows)

    gaps = wh.table("kpi_order_to_payment")
    live = gaps[gaps["date"].dt.strftime("%Y-%m-%d") == "2025-01-14"]
    assert explain(wh, db, "kpi_order_to_payment", "2025-01-14").matches is True
    for vendor_row in live.itertuples():
        one = explain(wh, db, "kpi_order_to_payment", "2025-01-14", vendor=vendor_row.vendor)
        assert one.matches is True and one.listed["orders"] == vendor_row.orders

    top = wh.table("kpi_top_products").head(3)
    for product in top.itertuples():
        result = explain(wh, db, "kpi_top_products", product.sku)
        assert result.matches is True and result.listed["revenue_ngn"] == product.revenue_ngn

    with pytest.raises(InputError, match="choose one of"):
        explain(wh, db, "kpi_nothing", "2025-01-15")
    with pytest.raises(InputError, match="no row"):
        explain(wh, db, "kpi_daily_revenue", "1999-01-01")
    assert set(EXPLAINERS) == {
        "kpi_daily_revenue",
        "kpi_refund_rate",
        "kpi_order_to_payment",
        "kpi_top_products",
    }


def test_explain_cli_json(datapack_env):
    settings, _ = datapack_env
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "commercepulse.cli",
            "explain",
            "kpi_daily_revenue",
            "2025-01-15",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=settings_env(settings),
        check=True,
    ).stdout
    doc = json.loads(out)
    kpi = (
        warehouse_of(settings)
        .query("SELECT * FROM kpi_daily_revenue WHERE date = DATE '2025-01-15'")
        .iloc[0]
    )
    assert doc["matches"] is True and doc["figure"]["net_revenue_ngn"] == kpi["net_revenue_ngn"]
    assert all(
        e["file"] and e["line"] and e["ingestion_day"] for r in doc["rows"] for e in r["events"]
    )
    bad = subprocess.run(
        [sys.executable, "-m", "commercepulse.cli", "explain", "kpi_daily_revenue", "15/01/2025"],
        capture_output=True,
        text=True,
        env=settings_env(settings),
    )
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_explain_job_from_the_ui_shows_the_rows_in_the_run_and_on_the_kpi(datapack_env):
    """`explain_job` (Launchpad config kpi, key, vendor): the run's metadata holds the figure, the
    listed rows' sums and the rows with their raw events, and the KPI asset records it."""
    import dagster as dg

    from commercepulse_tests.harness import definitions

    settings, _ = datapack_env
    wh = warehouse_of(settings)
    job = definitions(settings).resolve_job_def("explain_job")
    instance = dg.DagsterInstance.ephemeral()

    def run(**config):
        return job.execute_in_process(
            instance=instance,
            run_config={"ops": {"explain_figure": {"config": config}}},
            raise_on_error=False,
        )

    latest = run()  # defaults: kpi_daily_revenue of its latest day
    assert latest.success
    (output,) = [e for e in latest.all_node_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.step_output_data.metadata
    last_day = str(wh.query("SELECT max(date) AS d FROM kpi_daily_revenue")["d"].iat[0].date())
    want = explain(
        wh, get_database(settings.mongo_uri, settings.mongo_db), "kpi_daily_revenue", last_day
    )
    assert metadata["key"].value == last_day and metadata["matches"].value is True
    assert metadata["row_count"].value == len(want.rows)
    assert metadata["figure"].value == want.figure
    table = metadata["rows"].value
    first = want.rows[0]["events"][0]
    assert f"{first['file']}:{first['line']}" in table

    vendor = run(kpi="kpi_order_to_payment", key="2025-01-14", vendor="vendor_b")
    assert vendor.success
    observed = instance.fetch_observations(dg.AssetKey("kpi_order_to_payment"), limit=1).records
    assert observed[0].asset_observation.metadata["vendor"].value == "vendor_b"

    bad = run(kpi="kpi_daily_revenue", key="15/01/2025")
    assert not bad.success
    failure = [e for e in bad.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "YYYY-MM-DD" in failure.step_failure_data.user_failure_data.description


def test_the_explain_table_never_breaks_a_path():
    """Each raw event's file:line stays whole on its line, however narrow the terminal."""
    from rich.console import Console

    from commercepulse.explain import Explanation
    from commercepulse.summary import print_explanation

    path = "/data/live_events/2025-01-15/events.jsonl"
    rows = [
        {
            "role": "payment",
            "fact": "fact_payments",
            "fact_key": f"evt-{n}",
            "vendor": "vendor_b",
            "order_id": f"ORD-{n}",
            "time": "2025-01-15 09:00:00",
            "contribution": 1234.5,
            "run_id": "0123456789abcdef",
            "events": [
                {
                    "event_id": f"evt-{n}",
                    "file": path,
                    "line": 1955 + n,
                    "ingestion_day": "2025-01-15",
                }
            ],
        }
        for n in range(3)
    ]
    result = Explanation(
        kpi="kpi_daily_revenue",
        key="2025-01-15",
        vendor=None,
        contribution="net_revenue_ngn",
        figure={"net_revenue_ngn": 3703.5},
        listed={"net_revenue_ngn": 3703.5},
        rows=rows,
    )
    for width in (80, 120, 200):
        out = Console(width=width, record=True, color_system=None)
        print_explanation(result, out)
        text = out.export_text()
        for n in range(3):
            assert f"{path}:{1955 + n}" in text, (width, text)
