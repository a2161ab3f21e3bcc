"""The one place that decides the environment and builds its resources."""
from __future__ import annotations

from typing import Any

from commercepulse.mongo.resource import MongoResource
from commercepulse.settings import Settings, get_settings
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse


class WarehouseNotConfiguredError(RuntimeError):
    """The selected warehouse lacks the settings it needs."""


def build_warehouse(settings: Settings) -> Warehouse:
    """DuckDB file (default) or a BigQuery dataset (WAREHOUSE=bigquery)."""
    if settings.warehouse == "bigquery":
        if not settings.bq_project:
            raise WarehouseNotConfiguredError(
                "WAREHOUSE=bigquery needs BQ_PROJECT (and optionally BQ_DATASET, BQ_LOCATION); credentials come "
                "from Application Default Credentials (`gcloud auth application-default login`) or "
                "GOOGLE_APPLICATION_CREDENTIALS.")
        from dagster_gcp import BigQueryResource

        from commercepulse.warehouse.bigquery_warehouse import BigQueryWarehouse

        return BigQueryWarehouse(bigquery=BigQueryResource(project=settings.bq_project, location=settings.bq_location),
                                 dataset=settings.bq_dataset)
    return DuckDBWarehouse(path=str(settings.warehouse_path), memory_limit=settings.duckdb_memory_limit)


def warehouse_location(settings: Settings) -> str:
    """Where the warehouse is, for people (summary, README)."""
    if settings.warehouse == "bigquery":
        return f"BigQuery dataset {settings.bq_project}.{settings.bq_dataset}"
    return f"DuckDB file {settings.warehouse_path}"


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    """`mongo` and `warehouse` for the configured environment (WAREHOUSE=duckdb|bigquery)."""
    settings = settings or get_settings()
    mongo = MongoResource(uri=settings.mongo_uri, database=settings.mongo_db,
                          state_dir=str(settings.mongod_dir))
    return {"mongo": mongo, "warehouse": build_warehouse(settings)}
