"""Resources: built in one place from the settings (`build_resources`).

- `mongo`: the raw store (MongoDB). The URI is a secret: when it comes from the environment it
  is passed as `dg.EnvVar("MONGO_URI")`, so Dagster reads it at run time and never shows it.
- `warehouse`: a `Warehouse` engine (DuckDB file or BigQuery dataset, by `WAREHOUSE`); assets
  ask for it as `dg.ResourceParam[Warehouse]` and never branch on the engine.
- `settings`: folders, the late threshold and every check threshold.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from pymongo.database import Database

from commercepulse.defs.topology import RunTopology
from commercepulse.errors import ConfigurationError
from commercepulse.lib.customer_keys import load_or_create_salt
from commercepulse.lib.heap import keep_big_buffers_mapped, return_free_heap
from commercepulse.mongo.client import get_database, resolve_uri
from commercepulse.settings import CheckThresholds, Settings, load_settings, worker_processes
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse


class WarehouseNotConfiguredError(ConfigurationError):
    """The selected warehouse lacks the settings it needs."""


class MongoResource(dg.ConfigurableResource):
    """MongoDB connection; with no `uri` it starts (or reuses) the project's local mongod."""

    uri: str | None = None
    database: str = "commercepulse"
    state_dir: str = ".commercepulse/mongod"

    def address(self) -> str:
        """The resolved URI (the local mongod started if needed), for worker processes."""
        uri = self.uri.get_value() if isinstance(self.uri, dg.EnvVar) else self.uri
        return resolve_uri(uri, self.state_dir)

    def db(self) -> Database:
        # inside a run Dagster has resolved `uri`; used directly (the main job's planning), an
        # EnvVar is read here, from the environment, like Dagster would
        uri = self.uri.get_value() if isinstance(self.uri, dg.EnvVar) else self.uri
        return get_database(uri, self.database, self.state_dir)


class ProjectSettings(dg.ConfigurableResource, CheckThresholds):
    """Input and report folders, the late threshold and the check thresholds (see `.env.example`)."""

    data_dir: str = "data"
    reports_dir: str = "reports"
    alert_webhook_url: str = ""
    ui_base_url: str = "http://127.0.0.1:3000"
    workers: int = 0
    #: CUSTOMER_KEY_SALT as `dg.EnvVar` (the UI shows "Env var", never the secret), else empty
    #: and the salt is kept in `customer_key_salt_file` (its path is shown, not its content)
    customer_key_salt: str = ""
    customer_key_salt_file: str = ".commercepulse/customer_key_salt"

    def customer_key_salt_value(self) -> str:
        """The secret the customer keys are hashed under (generated on first use if none)."""
        given = (
            self.customer_key_salt.get_value()
            if isinstance(self.customer_key_salt, dg.EnvVar)
            else self.customer_key_salt
        )
        return given or load_or_create_salt(Path(self.customer_key_salt_file))

    @property
    def processes(self) -> int:
        """Processes for a step's CPU-bound work (WORKERS; 0 = one per core)."""
        return worker_processes(self.workers)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def reports_path(self) -> Path:
        return Path(self.reports_dir)


def build_warehouse(settings: Settings) -> Warehouse:
    """DuckDB file (default) or a BigQuery dataset through dagster-gcp (WAREHOUSE=bigquery)."""
    if settings.warehouse == "bigquery":
        if not settings.bq_project:
            raise WarehouseNotConfiguredError(
                "WAREHOUSE=bigquery needs BQ_PROJECT (and optionally BQ_DATASET, BQ_LOCATION); credentials come "
                "from Application Default Credentials (`gcloud auth application-default login`) or "
                "GOOGLE_APPLICATION_CREDENTIALS."
            )
        from dagster_gcp import BigQueryResource

        from commercepulse.warehouse.bigquery_warehouse import BigQueryWarehouse

        client = BigQueryResource(project=settings.bq_project, location=settings.bq_location)
        return BigQueryWarehouse(
            project=settings.bq_project,
            location=settings.bq_location,
            dataset=settings.bq_dataset,
            connect=client.get_client,
        )
    return DuckDBWarehouse(
        path=str(settings.warehouse_path),
        memory_limit=settings.duckdb_memory_limit,
        allocator_flush=settings.duckdb_allocator_flush,
        snapshots_dir=str(settings.snapshots_dir.resolve()) if settings.snapshots_dir else "",
        snapshots_keep=settings.snapshots_keep,
    )


def warehouse_location(settings: Settings) -> str:
    """Where the warehouse is, for people (summary, README)."""
    if settings.warehouse == "bigquery":
        return f"BigQuery dataset {settings.bq_project}.{settings.bq_dataset}"
    return f"DuckDB file {settings.warehouse_path}"


def project_settings(settings: Settings) -> ProjectSettings:
    fields = set(CheckThresholds.model_fields)
    hook = settings.alert_webhook_url or ""
    from_env = bool(hook) and os.environ.get("ALERT_WEBHOOK_URL") == hook
    salt = settings.customer_key_salt or ""
    salt_from_env = bool(salt) and os.environ.get("CUSTOMER_KEY_SALT") == salt
    return ProjectSettings(
        data_dir=str(settings.data_dir.resolve()),
        reports_dir=str(settings.reports_dir.resolve()),
        alert_webhook_url=dg.EnvVar("ALERT_WEBHOOK_URL") if from_env else hook,
        ui_base_url=settings.ui_base_url,
        workers=settings.workers,
        customer_key_salt=dg.EnvVar("CUSTOMER_KEY_SALT") if salt_from_env else salt,
        customer_key_salt_file=str(settings.customer_key_salt_file),
        **{name: getattr(settings, name) for name in fields},
    )


def mongo_resource(settings: Settings) -> MongoResource:
    from_env = settings.mongo_uri is not None and os.environ.get("MONGO_URI") == settings.mongo_uri
    return MongoResource(
        uri=dg.EnvVar("MONGO_URI") if from_env else settings.mongo_uri,
        database=settings.mongo_db,
        state_dir=str(settings.mongod_dir),
    )


def scoped_warehouse(engine: Warehouse) -> dg.ResourceDefinition:
    """The warehouse as a resource that lives as long as the run (or sensor tick) using it: an
    engine that keeps a connection for the run (DuckDB) closes it when the run ends. The run's
    process keeps big frame buffers out of its heap, and gives the heap's free pages back when
    the run ends: `commercepulse run` runs every job in one process (heap.py)."""

    @dg.resource(description=f"warehouse: {type(engine).__name__}")
    def warehouse(_context) -> Iterator[Warehouse]:
        keep_big_buffers_mapped()
        try:
            with engine.run_scope():
                yield engine
        finally:
            return_free_heap()

    return warehouse


def build_resources(settings: Settings, warehouse: Warehouse | None = None) -> dict:
    """`mongo`, `warehouse` and `settings` for these settings (`warehouse` given: use that engine)."""
    engine = warehouse or build_warehouse(settings)
    return {
        "mongo": mongo_resource(settings),
        "warehouse": scoped_warehouse(engine),
        "settings": project_settings(settings),
    }


def run_topology(settings: Settings) -> RunTopology:
    """DuckDB (one writing process): one run per backfill, steps in process. BigQuery: runs of
    BACKFILL_RUN_DAYS partitions, steps in RUN_MAX_PARALLEL_STEPS processes."""
    if settings.warehouse != "bigquery":
        return RunTopology()
    return RunTopology(settings.backfill_run_days, settings.run_max_parallel_steps)


def alerts_configured() -> bool:
    """ALERT_WEBHOOK_URL is set: the alert sensor starts running (else it is stopped, saying why)."""
    return bool(load_settings().alert_webhook_url)
