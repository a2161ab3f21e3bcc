"""What every command shares: the one-line error, the raw store, a progress bar, the landing
commands' fast exit and their counts."""

from __future__ import annotations

import sys

import orjson
import typer
from rich.console import Console

from commercepulse.settings import Settings

err = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def day_range(days: str) -> list:
    """The days of `YYYY-MM-DD` or `FIRST..LAST` (both included); exits with one line otherwise."""
    from datetime import date, timedelta

    from commercepulse.lib.days import days_between

    first, _, last = days.partition("..")
    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last or first)
    except ValueError:
        fail(f"DAYS must be YYYY-MM-DD or FIRST..LAST, got {days!r}")
    if end < start:
        fail(f"the range {days} ends before it starts")
    return days_between(start, end + timedelta(days=1))


def open_db():
    from commercepulse.mongo.client import get_database
    from commercepulse.mongo.server import MongodNotFoundError, MongodStartError

    settings = Settings()
    try:
        return get_database(settings.mongo_uri, settings.mongo_db, settings.mongod_dir)
    except (MongodNotFoundError, MongodStartError) as exc:
        fail(str(exc))


def progress_bar(total: int, unit: str):
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


def exit_now() -> None:
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


def report_counts(stats: dict, as_json: bool) -> None:
    public = {k: stats[k] for k in ("files", "lines_read", "landed", "duplicates", "quarantined")}
    if as_json:
        typer.echo(orjson.dumps(public).decode())
    else:
        typer.echo(
            " ".join(f"{k}={v}" for k, v in public.items())
            + (f" blank_lines={stats['blank_lines']}" if stats.get("blank_lines") else "")
        )
