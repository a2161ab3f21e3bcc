"""The top-level commands: `run` (the main job end to end), `report` (a day's report), `explain`
(the rows and raw events behind a KPI figure), `acknowledge` (accept a day's restated revenue)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from commercepulse.cli.common import day_range, fail, open_db
from commercepulse.settings import Settings


def run_cmd(
    timings: Annotated[
        Path | None, typer.Option(help="also write the stage timings as JSON to this file")
    ] = None,
) -> None:
    """Run everything on DATA_DIR (demo data generated when empty) and print a KPI summary."""
    from commercepulse.defs.resources import WarehouseNotConfiguredError
    from commercepulse.mongo.server import MongodNotFoundError, MongodStartError
    from commercepulse.runner import StepFailedError, run_all
    from commercepulse.staging.fx import FxRatesMissingError
    from commercepulse.summary import print_summary

    settings = Settings()
    out = Console(width=None if sys.stdout.isatty() else 120)
    try:
        result = run_all(settings, say=lambda line: out.print(line, soft_wrap=True))
    except (
        MongodNotFoundError,
        MongodStartError,
        FxRatesMissingError,
        WarehouseNotConfiguredError,
    ) as exc:
        fail(str(exc))
    except StepFailedError as exc:
        fail(str(exc), code=1)
    print_summary(settings, result, out)
    if timings:
        timings.write_bytes(orjson.dumps(result["timings"]))


def report_cmd(
    day: Annotated[str, typer.Option("--date", help="the day to report, YYYY-MM-DD")],
) -> None:
    """Write REPORTS_DIR/DAY/ (quality.json, report.html, charts) from the current warehouse."""
    from commercepulse.defs.resources import build_warehouse
    from commercepulse.reports.writer import write_day_report

    try:
        when = date.fromisoformat(day)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {day!r}")
    settings = Settings()
    folder = write_day_report(
        open_db(), build_warehouse(settings), when, settings.reports_dir, settings
    )
    typer.echo(str(folder / "report.html"))


def explain_cmd(
    kpi: Annotated[
        str,
        typer.Argument(
            help="kpi_daily_revenue, kpi_refund_rate, kpi_order_to_payment or kpi_top_products"
        ),
    ],
    key: Annotated[str, typer.Argument(help="the day (YYYY-MM-DD); for kpi_top_products the SKU")],
    vendor: Annotated[str | None, typer.Option(help="only this vendor's rows")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the explanation as JSON")] = False,
) -> None:
    """List the fact rows behind a KPI figure, with their raw events (file, line, ingestion day) and runs."""
    from commercepulse.defs.resources import build_warehouse
    from commercepulse.errors import InputError
    from commercepulse.explain import explain
    from commercepulse.summary import print_explanation

    try:
        result = explain(build_warehouse(Settings()), open_db(), kpi, key, vendor)
    except InputError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        print_explanation(result, Console(width=None if sys.stdout.isatty() else 160))


def acknowledge_cmd(
    days: Annotated[
        str,
        typer.Argument(help="the business day restated, YYYY-MM-DD, or a range FIRST..LAST"),
    ],
    note: Annotated[str, typer.Option(help="why the restated figure is accepted")],
    by: Annotated[str, typer.Option(help="who acknowledges it")] = "",
) -> None:
    """Accept a day's materially restated net revenue (or each open day of a range):
    `revenue_drift` judges the day against it from now on (kept in revenue_acknowledgements; the
    same as materializing that asset's days in the UI). The Dagster instance is told, so the
    check and the days' reports follow under `make ui`."""
    import dagster as dg

    from commercepulse.checks.acknowledgements import acknowledge_days
    from commercepulse.checks.spec import RuleInputs
    from commercepulse.defs.kpis.acknowledgements import drift_evaluation
    from commercepulse.defs.resources import build_warehouse
    from commercepulse.errors import InputError
    from commercepulse.instance.home import prepare_dagster_home

    chosen = day_range(days)
    settings = Settings()
    warehouse = build_warehouse(settings)
    try:
        done, refused = acknowledge_days(warehouse, settings, chosen, note, by)
    except InputError as exc:
        fail(str(exc))
    prepare_dagster_home(settings)
    with dg.DagsterInstance.get() as instance:
        for accepted in done:
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    "revenue_acknowledgements",
                    partition=accepted.day.isoformat(),
                    description="commercepulse acknowledge",
                    metadata={"accepted_ngn": accepted.accepted_ngn, "note": note, "by": by or "-"},
                )
            )
        instance.report_runless_asset_event(
            drift_evaluation(instance, RuleInputs(open_db, warehouse, settings))
        )
    for accepted in done:
        typer.echo(accepted.line())
    if refused:
        typer.echo(f"{len(refused)} day(s) had nothing open to acknowledge.")
    typer.echo(
        "The days' reports follow by itself under `make ui`; else `commercepulse report --date D`."
    )
