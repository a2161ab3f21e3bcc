"""`commercepulse query` and `commercepulse kpi`: the published figures read from a terminal,
a script or a pipe (the newest read snapshot, or BigQuery), streamed as a table, CSV or JSON."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from commercepulse.cli.common import day_range, err, fail
from commercepulse.settings import Settings

FORMAT_HELP = "table (for people), csv, or json (JSON Lines: one object per row)"
#: Shown on stderr before the rows: which snapshot they come from.
NEWEST = (
    "SELECT snapshot_id, published_at, latest_landing_partition, last_business_day "
    "FROM snapshot_info ORDER BY snapshot_id DESC LIMIT 1"
)


def _stream(sql: str, params: dict, fmt: str, native: bool) -> None:
    from commercepulse.defs.resources import build_warehouse
    from commercepulse.errors import InputError
    from commercepulse.read.readers import open_reader

    _check_format(fmt)
    try:
        with open_reader(build_warehouse(Settings())) as reader:
            _say_snapshot(reader)
            result = reader.rows(reader.native(sql) if native else sql, params)
            _write(result.columns, result.batches, fmt)
    except InputError as exc:
        fail(str(exc))


def _check_format(fmt: str) -> None:
    from commercepulse.read.output import FORMATS

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def _write(columns, batches, fmt: str) -> None:
    """Rows to stdout as they come; a reader that closes the pipe (`| head`) ends it quietly."""
    from commercepulse.read.output import write_rows

    try:
        write_rows(columns, batches, fmt, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _say_snapshot(reader) -> None:
    """One line on stderr: the snapshot read (what it holds, when it was published)."""
    from commercepulse.errors import InputError

    try:
        rows = next(reader.rows(reader.native(NEWEST), {}).batches, [])
    except InputError:
        rows = []
    if rows:
        sid, published, landing, last_day = rows[0]
        err.print(
            f"[dim]snapshot {sid}: published {published:%Y-%m-%d %H:%M:%S} UTC, latest landing "
            f"{landing or 'none'}, business days through {last_day}[/]",
            highlight=False,
            soft_wrap=True,
        )


def query_cmd(
    sql: Annotated[str, typer.Argument(help="one reading statement (SELECT, WITH, DESCRIBE …)")],
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
) -> None:
    """Run one reading statement on the published figures: the newest read snapshot of the
    DuckDB warehouse (BigQuery: the dataset, in BigQuery SQL). Never waits for, nor blocks, a
    run. A write, bad SQL or an unknown table: one line, exit 2."""
    _stream(sql, {}, fmt, native=False)


def kpi_cmd(
    name: Annotated[str, typer.Argument(help="the KPI table, e.g. kpi_daily_revenue")],
    first: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")] = "",
    last: Annotated[str, typer.Option("--to", help="last day (included), YYYY-MM-DD")] = "",
    vendor: Annotated[str, typer.Option(help="one vendor's rows (per-vendor KPIs)")] = "",
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="the rows as the platform showed them at this time (ISO, naive = UTC; a day = "
            "its end)",
        ),
    ] = "",
    since: Annotated[
        str,
        typer.Option(help="list what changed between this time and --as-of (default: now)"),
    ] = "",
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
) -> None:
    """A KPI's rows from the published figures, by day range and vendor; with --as-of, as the
    platform showed them then (kpi_history); with --since, what changed in between."""
    from datetime import UTC, datetime

    from commercepulse.errors import InputError
    from commercepulse.read import kpi_reads as k

    try:
        days = k.parse_day(first, "--from"), k.parse_day(last, "--to"), vendor or None
        moment = k.parse_moment(as_of, "--as-of")
        earlier = k.parse_moment(since, "--since")
        if earlier is None and moment is None:
            sql, params = k.kpi_sql(name, *days)
            _stream(sql, params, fmt, native=True)
            return
        moment = moment or datetime.now(UTC)
        if earlier is not None and earlier >= moment:
            raise InputError(f"--since {since} is not before --as-of {as_of or 'now'}")
        _versions(name, days, moment, earlier, fmt)
    except InputError as exc:
        fail(str(exc))


def _versions(name: str, days: tuple, moment, earlier, fmt: str) -> None:
    """The KPI as published at `moment`, or (with `earlier`) what changed since then."""
    from commercepulse.defs.resources import build_warehouse
    from commercepulse.read import kpi_reads as k
    from commercepulse.read.readers import open_reader
    from commercepulse.warehouse.schema import KPIS

    _check_format(fmt)
    with open_reader(build_warehouse(Settings())) as reader:
        _say_snapshot(reader)

        def published_at(when) -> object:
            sql, params = k.as_of_sql(name, when, *days)
            return reader.rows(reader.native(sql), params).batches

        first = next(reader.rows(reader.native(k.FIRST_PUBLISHED), {"kpi": name}).batches)
        begins = first[0][0] if first else None
        if begins is None or begins > (earlier or moment):
            err.print(
                f"[dim]{name}: no version published by {(earlier or moment):%Y-%m-%d %H:%M:%S} "
                f"UTC (its history begins {begins or 'at its first refresh'})[/]",
                highlight=False,
                soft_wrap=True,
            )
        if earlier is None:
            columns, batches = KPIS[name].names, k.versions_as_rows(name, published_at(moment))
        else:
            changed = k.differences(
                name, k.state(name, published_at(earlier)), k.state(name, published_at(moment))
            )
            columns, batches = [*KPIS[name].key, *k.DIFF_COLUMNS], iter([changed])
        _write(columns, batches, fmt)


def why_cmd(
    kpi: Annotated[
        str,
        typer.Argument(
            help="kpi_daily_revenue (net revenue), orders, or kpi_vendor_payment_success"
        ),
    ],
    day: Annotated[str, typer.Argument(help="the day whose figure moved, YYYY-MM-DD")],
    vs: Annotated[
        str | None, typer.Option("--vs", help="the day to compare with (default: a week before)")
    ] = None,
    weeks: Annotated[
        int,
        typer.Option(
            "--weeks", help="compare with the mean of the same weekday of the last N weeks"
        ),
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="the parts as JSON")] = False,
) -> None:
    """Why a figure moved: its change against another day (or the mean of several) split by
    vendor and, for net revenue, by cause (payment attempts, success rate, average paid, FX,
    refunds), adding up exactly; with the SKUs and categories that moved most."""
    from datetime import date

    import orjson

    from commercepulse.defs.resources import build_warehouse
    from commercepulse.warehouse.why import WHY_KPIS, default_versus, explain_kpi, same_weekdays

    if kpi not in WHY_KPIS:
        fail(f"why explains {', '.join(WHY_KPIS)}; not {kpi!r}")
    try:
        when = date.fromisoformat(day)
        versus = date.fromisoformat(vs) if vs else None
    except ValueError as exc:
        fail(f"a day is YYYY-MM-DD: {exc}")
    if weeks < 0:
        fail("--weeks is a number of weeks, 1 or more")
    compared = (
        same_weekdays(when, weeks) if weeks and not versus else [versus or default_versus(when)]
    )
    why = explain_kpi(build_warehouse(Settings()), kpi, when, compared)
    if as_json:
        typer.echo(orjson.dumps(why.payload, option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo("\n".join(why.lines))


def annotate_cmd(
    days: Annotated[
        str | None,
        typer.Argument(help="the day expected to be unusual, YYYY-MM-DD, or a range FIRST..LAST"),
    ] = None,
    note: Annotated[
        str, typer.Option(help="what is unusual (a holiday, an outage, a campaign)")
    ] = "",
    vendor: Annotated[str, typer.Option(help="the one vendor it concerns (default: all)")] = "",
    by: Annotated[str, typer.Option(help="who writes it")] = "",
    remove: Annotated[bool, typer.Option("--remove", help="take the day's note away")] = False,
    show: Annotated[bool, typer.Option("--list", help="list every annotated day")] = False,
) -> None:
    """Annotate a day as expected to be unusual: its note is shown with the day (report, the
    kpi_anomalies check, `why`), it is never flagged as an anomaly, and it leaves the KPI
    baselines (kept in day_annotations; the same as materializing that asset's days in the UI).
    The Dagster instance is told, so the check and the day's report follow under `make ui`."""
    import dagster as dg

    from commercepulse.defs.resources import build_warehouse
    from commercepulse.errors import InputError
    from commercepulse.instance.home import prepare_dagster_home
    from commercepulse.warehouse import annotations

    settings = Settings()
    warehouse = build_warehouse(settings)
    if show:
        for row in annotations.read(warehouse).itertuples():
            typer.echo(f"{row.date}  {row.scope:<10} {row.note}  ({row.annotated_by or '-'})")
        return
    if not days:
        fail("give the DAY (YYYY-MM-DD or FIRST..LAST), or --list")
    chosen = day_range(days)
    try:
        if remove:
            lines = [f"{annotations.remove(warehouse, chosen, vendor)} note(s) removed"]
        else:
            lines = annotations.annotate(warehouse, chosen, note, vendor, by)
    except InputError as exc:
        fail(str(exc))
    prepare_dagster_home(settings)
    with dg.DagsterInstance.get() as instance:
        for day in chosen:  # the day's report is rewritten under `make ui`
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    "day_annotations",
                    partition=day.isoformat(),
                    description="commercepulse annotate",
                    metadata={"note": note or "(removed)", "scope": vendor or "all"},
                )
            )
    typer.echo("\n".join(lines))
