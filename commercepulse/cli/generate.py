"""`commercepulse generate`: demo data, deterministic for a seed."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from commercepulse.cli.common import fail

generate_app = typer.Typer(help="Write demo data (deterministic for a seed).", no_args_is_help=True)


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
