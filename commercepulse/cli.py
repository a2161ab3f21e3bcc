"""`commercepulse` command line: generate data, ingest it, run the whole platform."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from commercepulse.settings import Settings, worker_processes

app = typer.Typer(
    help="CommercePulse data platform.", no_args_is_help=True, pretty_exceptions_enable=False
)
generate_app = typer.Typer(help="Write demo data (deterministic for a seed).", no_args_is_help=True)
ingest_app = typer.Typer(
    help="Land files into MongoDB events_raw (idempotent).", no_args_is_help=True
)
mongo_app = typer.Typer(help="The project's local mongod.", no_args_is_help=True)
quarantine_app = typer.Typer(
    help="Lines that could not land: list, show, replay.", no_args_is_help=True
)
instance_app = typer.Typer(
    help="The Dagster instance (DAGSTER_HOME) the CLI and the UI share.", no_args_is_help=True
)
app.add_typer(generate_app, name="generate")
app.add_typer(ingest_app, name="ingest")
app.add_typer(mongo_app, name="mongo")
app.add_typer(instance_app, name="instance")
app.add_typer(quarantine_app, name="quarantine")
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def _db():
    from commercepulse.mongo.client import get_database
    from commercepulse.mongo.server import MongodNotFoundError, MongodStartError

    settings = Settings()
    try:
        return get_database(settings.mongo_uri, settings.mongo_db, settings.mongod_dir)
    except (MongodNotFoundError, MongodStartError) as exc:
        fail(str(exc))


def _progress(total: int, unit: str):
    """A rich progress bar on a terminal; a no-op callback otherwise."""
    if not sys.stderr.isatty():
        return None, None
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
    ]
    if unit == "bytes":
        columns.insert(3, TransferSpeedColumn())
    progress = Progress(*columns, console=err, transient=True)
    task = progress.add_task("ingesting", total=total)
    return progress, (lambda n: progress.advance(task, n))


def _exit_now() -> None:
    """End a landing command at once, exit code 0, once its counts are printed.

    pymongo's exit handler joins its monitor threads, each asleep for up to 0.5 s between
    heartbeats: ~0.5 s of a 100k-line `ingest live` that takes ~2 s (measured; `client.close()`
    does not shorten it). The landing commands have nothing else to finish at exit (their
    worker pool is closed, every write acknowledged), so they flush and leave; `run` and the
    other commands keep the normal exit."""
    import logging
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(0)


def _report(stats: dict, as_json: bool) -> None:
    public = {k: stats[k] for k in ("files", "lines_read", "landed", "duplicates", "quarantined")}
    if as_json:
        typer.echo(orjson.dumps(public).decode())
    else:
        typer.echo(
            " ".join(f"{k}={v}" for k, v in public.items())
            + (f" blank_lines={stats['blank_lines']}" if stats.get("blank_lines") else "")
        )


@ingest_app.command("live")
def ingest_live_cmd(
    paths: Annotated[list[Path], typer.Argument(help="events.jsonl files or day folders")],
    as_json: Annotated[bool, typer.Option("--json", help="print the counts as JSON")] = False,
    workers: Annotated[
        int,
        typer.Option(
            help="processes parsing and landing in parallel (default: WORKERS, 0 = one per core)"
        ),
    ] = 0,
) -> None:
    """Land live event files (or YYYY-MM-DD folders of them); big files are cut into parts landed in parallel."""
    from commercepulse.errors import InputError
    from commercepulse.mongo.client import resolve_uri
    from commercepulse.mongo.server import MongodNotFoundError, MongodStartError
    from commercepulse.raw.live import expand_paths, ingest_live_parallel

    try:
        files = expand_paths(paths)
    except InputError as exc:
        fail(str(exc))
    settings = Settings()
    try:
        uri = resolve_uri(settings.mongo_uri, settings.mongod_dir)
    except (MongodNotFoundError, MongodStartError) as exc:
        fail(str(exc))
    processes = worker_processes(workers or settings.workers)
    # no feed tags: the bulk path keeps its landing rate (tagging cost it ~1.9x on 100k lines);
    # the vendor feed classifies the days it lands itself, as it does any untagged day
    progress, advance = _progress(sum(f.stat().st_size for f in files), "bytes")
    try:
        if progress:
            with progress:
                stats = ingest_live_parallel(
                    uri, settings.mongo_db, files, processes, on_part=advance
                )
        else:
            stats = ingest_live_parallel(uri, settings.mongo_db, files, processes)
    except InputError as exc:
        fail(str(exc))
    _report(stats.as_dict(), as_json)
    _exit_now()


@ingest_app.command("bootstrap")
def ingest_bootstrap_cmd(
    directory: Annotated[
        Path | None, typer.Argument(help="folder of dumps (default DATA_DIR/bootstrap)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Land the historical dumps as synthetic events."""
    from commercepulse.errors import InputError
    from commercepulse.raw.bootstrap import ingest_bootstrap

    folder = directory or Settings().data_dir / "bootstrap"
    db = _db()
    try:
        stats, _ = ingest_bootstrap(db, folder)
    except InputError as exc:
        fail(str(exc))
    _report(stats.as_dict(), as_json)
    _exit_now()


@generate_app.command("live")
def generate_live_cmd(
    out: Annotated[Path, typer.Option(help="output folder (days go in OUT/YYYY-MM-DD/)")],
    day: Annotated[str, typer.Option("--date", help="first ingestion day, YYYY-MM-DD")],
    events: Annotated[int, typer.Option(help="about this many distinct events per day")] = 2000,
    days: Annotated[int, typer.Option(help="consecutive days to write")] = 1,
    seed: int = 42,
    dup_rate: float = 0.05,
    late_rate: float = 0.10,
    schema_drift_rate: float = 0.15,
) -> None:
    """Write live event days with all vendor shapes, drift, duplicates, late events."""
    from commercepulse.generate.writers import write_live

    try:
        start = date.fromisoformat(day)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {day!r}")
    for path in write_live(out, seed, start, days, events, dup_rate, late_rate, schema_drift_rate):
        typer.echo(str(path))


@generate_app.command("bootstrap")
def generate_bootstrap_cmd(
    out: Annotated[Path, typer.Option(help="output folder (dumps go in OUT/bootstrap/)")],
    orders: int = 1200,
    seed: int = 7,
    year: int = 2023,
) -> None:
    """Write historical dumps (orders, payments, refunds, shipments) and an FX file."""
    from commercepulse.generate.writers import write_bootstrap

    for path in write_bootstrap(out, seed, orders, year):
        typer.echo(str(path))


@generate_app.command("platform")
def generate_platform_cmd(
    out: Annotated[
        Path, typer.Option(help="output folder (files go in OUT/<source>/YYYY-MM-DD.jsonl)")
    ],
    start: Annotated[str, typer.Option(help="first day, YYYY-MM-DD")],
    days: Annotated[int, typer.Option(help="consecutive days to write")] = 1,
    seed: int = 42,
    sessions: Annotated[int, typer.Option(help="behavioural sessions per day")] = 300,
) -> None:
    """Write the platform's own sources: users, products, orders, order items, behavioural events."""
    from commercepulse.generate.platform import write_platform

    try:
        first = date.fromisoformat(start)
    except ValueError:
        fail(f"--start must be YYYY-MM-DD, got {start!r}")
    if days < 1 or sessions < 0:
        fail("--days must be >= 1 and --sessions >= 0")
    for path in write_platform(out, first, days, seed, sessions):
        typer.echo(str(path))


@ingest_app.command("platform")
def ingest_platform_cmd(
    directory: Annotated[
        Path | None, typer.Argument(help="platform folder (default DATA_DIR/platform)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Land platform source files into MongoDB platform_raw (Bronze; idempotent)."""
    from commercepulse.errors import InputError
    from commercepulse.platform.bronze import ingest_platform, platform_files

    folder = directory or Settings().data_dir / "platform"
    try:
        files = platform_files(folder)
    except InputError as exc:
        fail(str(exc))
    if not files:
        fail(f"{folder} holds no <source>/YYYY-MM-DD.jsonl file")
    db = _db()
    total = sum(1 for _, path in files for _ in open(path, "rb"))
    progress, advance = _progress(total, "lines")
    if progress:
        with progress:
            stats, _ = ingest_platform(db, folder, on_lines=advance)
    else:
        stats, _ = ingest_platform(db, folder)
    _report(stats.as_dict(), as_json)


@app.command("run")
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


@app.command("report")
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
        _db(), build_warehouse(settings), when, settings.reports_dir, settings
    )
    typer.echo(str(folder / "report.html"))


@app.command("explain")
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
        result = explain(build_warehouse(Settings()), _db(), kpi, key, vendor)
    except InputError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        print_explanation(result, Console(width=None if sys.stdout.isatty() else 160))


@quarantine_app.command("list")
def quarantine_list_cmd(
    day: Annotated[str | None, typer.Option(help="ingestion day YYYY-MM-DD")] = None,
    vendor: Annotated[
        str | None, typer.Option(help="vendor named in the line (unknown when unreadable)")
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="reasons starting with this text, e.g. 'invalid JSON'")
    ] = None,
    all_records: Annotated[
        bool, typer.Option("--all", help="include records whose line has landed since")
    ] = False,
    limit: Annotated[int, typer.Option(help="records listed after the counts")] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="print counts and records as JSON")
    ] = False,
) -> None:
    """Counts of quarantined lines by reason, ingestion day and vendor, then the records themselves."""
    from rich.table import Table

    from commercepulse.raw.quarantine import records, summary

    rows = records(_db(), day=day, vendor=vendor, reason=reason, include_resolved=all_records)
    if as_json:
        plain = [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in rows
        ]
        typer.echo(
            orjson.dumps(
                {"counts": summary(rows), "records": plain}, option=orjson.OPT_INDENT_2
            ).decode()
        )
        return
    out = Console(width=None if sys.stdout.isatty() else 160)
    if not rows:
        out.print(
            "no quarantined line"
            + ("" if all_records else " waiting (--all: include those landed since)")
            + " for these filters" * bool(day or vendor or reason)
        )
        return
    counts = Table(
        "reason",
        "ingestion day",
        "vendor",
        "lines",
        title=f"{len(rows)} quarantined line(s)" + ("" if all_records else " not landed since"),
    )
    for row in summary(rows):
        counts.add_row(row["reason"], row["day"], row["vendor"], str(row["lines"]))
    out.print(counts)
    listed = Table("id", "file:line", "vendor", "status", "reason")
    for row in rows[:limit]:
        listed.add_row(
            row["_id"][:12],
            f"{row['file']}:{row['line']}",
            row["vendor"],
            row["status"],
            row["reason"],
        )
    out.print(listed)
    if rows:
        out.print(
            "show one: commercepulse quarantine show FILE:LINE (or ID); land what parses now: "
            "commercepulse quarantine replay"
        )


@quarantine_app.command("show")
def quarantine_show_cmd(
    record: Annotated[str, typer.Argument(help="FILE:LINE (as listed) or the record id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One quarantine record: where the line was read, why it was rejected, and its text."""
    from commercepulse.raw.quarantine import reason_class, show, vendor_of

    doc = show(_db(), record)
    if doc is None:
        fail(f"no quarantine record {record!r} (see `commercepulse quarantine list --all`)")
    doc.pop("raw_bytes", None)
    doc |= {
        "vendor": vendor_of(doc.get("raw_text") or ""),
        "reason_class": reason_class(doc["reason"]),
        "status": "resolved" if doc.get("resolved_at") else "open",
    }
    plain = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in doc.items()}
    if as_json:
        typer.echo(orjson.dumps(plain, option=orjson.OPT_INDENT_2).decode())
        return
    text = plain.pop("raw_text", "") or ""
    for key, value in plain.items():
        typer.echo(f"{key}: {value}")
    typer.echo(
        "raw_text: "
        + (text[:2000] + f"... ({len(text):,} characters)" if len(text) > 2000 else text)
    )


@quarantine_app.command("replay")
def quarantine_replay_cmd(
    day: Annotated[str | None, typer.Option(help="only this ingestion day")] = None,
    vendor: Annotated[str | None, typer.Option()] = None,
    reason: Annotated[str | None, typer.Option(help="reasons starting with this text")] = None,
    file: Annotated[
        str | None,
        typer.Option(help="only this file key, e.g. live_events/2025-01-15/events.jsonl"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Re-read open quarantined lines (from their file under DATA_DIR, else the stored text) and land what
    parses now; idempotent. The Dagster instance is told, so the touched business days are rebuilt by
    the reconcile sensor (under `make ui`), or by the next `commercepulse run`."""
    from commercepulse.raw.quarantine import replay

    settings = Settings()
    stats = replay(_db(), settings.data_dir, day=day, reason=reason, file=file, vendor=vendor)
    told = _tell_instance(settings, stats) if stats.landed or stats.already_landed else 0
    result = stats.as_dict() | {"instance_told": told}
    if as_json:
        typer.echo(orjson.dumps(result).decode())
        return
    typer.echo(
        " ".join(
            f"{k}={result[k]}" for k in ("replayed", "landed", "already_landed", "still_failing")
        )
    )
    if stats.reasons:
        typer.echo(f"still failing: {dict(stats.reasons)} (see `commercepulse quarantine list`)")
    if stats.business_days:
        typer.echo(f"business days touched: {', '.join(sorted(stats.business_days))}")


def _tell_instance(settings: Settings, stats) -> int:
    """Record the replay as a landing of each ingestion day (metadata `business_days`), as the ingest job
    does: the reconcile sensor then rebuilds those days. Returns the materializations recorded."""
    import dagster as dg

    from commercepulse.defs.landing_contract import landing_metadata
    from commercepulse.instance.home import prepare_dagster_home

    prepare_dagster_home(settings)
    with dg.DagsterInstance.get() as instance:
        for day in sorted(stats.ingestion_days):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    "events_raw",
                    partition=day,
                    description="commercepulse quarantine replay",
                    metadata=landing_metadata(
                        stats.business_days,
                        replayed=stats.replayed,
                        landed=stats.landed,
                        duplicates=stats.already_landed,
                    ),
                )
            )
    return len(stats.ingestion_days)


@mongo_app.command("start")
def mongo_start() -> None:
    """Start (or reuse) the local mongod; prints its URI."""
    from commercepulse.mongo.client import resolve_uri
    from commercepulse.mongo.server import MongodNotFoundError, MongodStartError

    settings = Settings()
    try:
        typer.echo(resolve_uri(settings.mongo_uri, settings.mongod_dir))
    except (MongodNotFoundError, MongodStartError) as exc:
        fail(str(exc))


@mongo_app.command("stop")
def mongo_stop() -> None:
    """Stop the local mongod of COMMERCEPULSE_HOME."""
    from commercepulse.mongo.server import stop_local_mongod

    typer.echo("stopped" if stop_local_mongod(Settings().mongod_dir) else "not running")


@instance_app.command("prepare")
def instance_prepare() -> None:
    """Start the instance's local PostgreSQL (if used) and write DAGSTER_HOME/dagster.yaml; prints DAGSTER_HOME."""
    from commercepulse.instance.home import prepare_dagster_home

    typer.echo(str(prepare_dagster_home(Settings())))


@instance_app.command("stop")
def instance_stop() -> None:
    """Stop the instance's local PostgreSQL of COMMERCEPULSE_HOME."""
    from commercepulse.instance.postgres import stop_local_postgres

    typer.echo("stopped" if stop_local_postgres(Settings().home / "postgres") else "not running")


def main() -> None:
    """The `commercepulse` entry point: a bad setting or an unreachable service is one line and exit 2;
    `--debug` (or COMMERCEPULSE_DEBUG=1) keeps the traceback."""
    import os

    from commercepulse.errors import user_message

    debug = "--debug" in sys.argv or os.environ.get("COMMERCEPULSE_DEBUG", "") not in ("", "0")
    if "--debug" in sys.argv:
        sys.argv.remove("--debug")
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - known user errors become one line, the rest keep their traceback
        message = user_message(exc)
        if message is None or debug:
            raise
        err.print(f"[bold red]error:[/] {message}", soft_wrap=True, markup=True, highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
