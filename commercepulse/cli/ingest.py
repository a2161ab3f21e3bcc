"""`commercepulse ingest`: land files into MongoDB events_raw (idempotent)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from commercepulse.cli.common import exit_now, fail, open_db, progress_bar, report_counts
from commercepulse.settings import Settings, worker_processes

ingest_app = typer.Typer(
    help="Land files into MongoDB events_raw (idempotent).", no_args_is_help=True
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
    progress, advance = progress_bar(sum(f.stat().st_size for f in files), "bytes")
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
    report_counts(stats.as_dict(), as_json)
    exit_now()


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
    db = open_db()
    try:
        stats, _ = ingest_bootstrap(db, folder)
    except InputError as exc:
        fail(str(exc))
    report_counts(stats.as_dict(), as_json)
    exit_now()


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
    db = open_db()
    total = sum(1 for _, path in files for _ in open(path, "rb"))
    progress, advance = progress_bar(total, "lines")
    if progress:
        with progress:
            stats, _ = ingest_platform(db, folder, on_lines=advance)
    else:
        stats, _ = ingest_platform(db, folder)
    report_counts(stats.as_dict(), as_json)
