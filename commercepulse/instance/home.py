"""DAGSTER_HOME and its dagster.yaml, written by the project (the CLI's runs and `make ui` share it).

Storage: the local PostgreSQL (default), a PostgreSQL given by DAGSTER_PG_URL (production: the
URL is read from the environment by Dagster, never written here), or SQLite files
(DAGSTER_STORAGE=sqlite). A dagster.yaml without the project's marker line is the user's
own and is left alone.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from commercepulse.errors import ServiceUnreachableError, mask_uri
from commercepulse.instance.postgres import PostgresUnavailableError, ensure_local_postgres
from commercepulse.lib.data_calendar import remember
from commercepulse.settings import Settings

log = logging.getLogger("commercepulse.instance")

MARKER = "# written by commercepulse (delete this line to keep your own settings)"


def dagster_yaml(storage: str, url: str | None, concurrent_runs: int = 1) -> str:
    """The instance configuration: storage, a run queue of `concurrent_runs` (1 for DuckDB, which
    takes one writer) polled every second, sensors evaluated in threads, run monitoring and run
    retries as in production, the library's warnings in the run logs, no telemetry."""
    if storage == "postgres" and url:
        store = f'storage:\n  postgres:\n    postgres_url: "{url}"\n'
    elif storage == "postgres":
        store = "storage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n"
    else:
        store = ""  # Dagster's default: SQLite files under DAGSTER_HOME
    return (
        f"{MARKER}\n{store}"
        f"run_queue:\n  max_concurrent_runs: {concurrent_runs}\n  dequeue_interval_seconds: 1\n"
        # sensors and automation evaluated side by side: a slow one never delays a new file's landing
        "sensors:\n  use_threads: true\n  num_workers: 4\n"
        "auto_materialize:\n  use_threads: true\n  num_workers: 2\n"
        "run_monitoring:\n  enabled: true\n  start_timeout_seconds: 180\n  max_resume_run_attempts: 0\n"
        "  poll_interval_seconds: 10\n"
        # as deploy/dagster.yaml: a run that fails outside its steps (a killed worker, a lost
        # launch) is retried from its failure; the sensors cap the retries per run (defs/work.py)
        "run_retries:\n  enabled: true\n  max_retries: 2\n  retry_on_asset_or_op_failure: false\n"
        # the library's warnings (a warehouse held by another process) in the run's own log; no
        # python_log_level: Dagster would set it on every run's context.log too, and drop the
        # runs' INFO lines (the `commercepulse` logger stays at the root's WARNING by itself)
        "python_logs:\n  managed_python_loggers: [commercepulse]\n"
        "telemetry:\n  enabled: false\n"
    )


def write_dagster_yaml(home: Path, text: str) -> bool:
    """Write DAGSTER_HOME/dagster.yaml unless the user keeps their own; True when written."""
    path = home / "dagster.yaml"
    if path.exists() and MARKER not in path.read_text():
        return False
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return True


def event_batching_environment() -> None:
    """Dagster's knobs for range runs, for this process and the runs it starts: a batch of
    materializations per write, and one planned event per asset for a range (not per partition).
    Set by `make` for `dagster dev` too; an explicit value in the environment wins."""
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")


def prepare_dagster_home(settings: Settings) -> Path:
    """DAGSTER_HOME (default COMMERCEPULSE_HOME/dagster) with its storage ready and its dagster.yaml
    written; sets DAGSTER_HOME and the event-batching knobs for this process. Without pgserver the
    instance falls back to SQLite files, with a warning (slower range runs)."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.home / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    storage, url = settings.dagster_storage, None
    if storage == "postgres" and not settings.dagster_pg_url:
        try:
            url = ensure_local_postgres(settings.home / "postgres")
        except PostgresUnavailableError as exc:
            log.warning("Dagster instance on SQLite files instead of PostgreSQL: %s", exc)
            storage = "sqlite"
    elif storage == "postgres":
        check_postgres(settings.dagster_pg_url)
    write_dagster_yaml(home, dagster_yaml(storage, url, settings.concurrent_runs))
    event_batching_environment()
    remember(settings.home, settings.data_dir)  # the calendars start where the data starts
    return home


def check_postgres(url: str, timeout_s: int = 5) -> None:
    """Fail fast with one line (the masked address and what to check) when DAGSTER_PG_URL does not
    answer, instead of Dagster's minute of connection retries."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": timeout_s})
        with engine.connect():
            pass
        engine.dispose()
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise ServiceUnreachableError(
            f"cannot reach the Dagster instance's PostgreSQL at {mask_uri(url)} ({type(exc.orig or exc).__name__}); "
            "check that the server is up and DAGSTER_PG_URL is right (unset it for the local server)"
        ) from exc


def pooled(instance) -> None:
    """Keep one PostgreSQL connection per storage open for this process (Dagster opens one per
    query by default: ~4 ms each, a thousand in a main job). What the webserver does for itself."""
    instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=10)
