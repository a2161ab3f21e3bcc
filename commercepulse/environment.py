"""The one place that decides the environment and builds its resources."""
from __future__ import annotations

from typing import Any

from commercepulse.mongo.resource import MongoResource
from commercepulse.settings import Settings, get_settings
from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse


class WarehouseNotConfiguredError(RuntimeError):
    """The selected warehouse lacks the settings it needs."""


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    """`mongo` and `warehouse` for the configured environment (WAREHOUSE=duckdb|bigquery)."""
    settings = settings or get_settings()
    mongo = MongoResource(uri=settings.mongo_uri, database=settings.mongo_db,
                          state_dir=str(settings.mongod_dir))
    if settings.warehouse == "bigquery":
        raise WarehouseNotConfiguredError(
            "WAREHOUSE=bigquery is not available yet in this build; use WAREHOUSE=duckdb (the default).")
    return {"mongo": mongo, "warehouse": DuckDBWarehouse(path=str(settings.warehouse_path),
                                                         memory_limit=settings.duckdb_memory_limit)}
