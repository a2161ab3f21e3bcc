"""Dagster metadata derived from the table specs (shown on every table asset)."""

import dagster as dg

from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.tables import ALL_TABLES


def table_metadata_spec(name: str) -> dict:
    """Column schema (names, types, descriptions) and declared key of a warehouse table."""
    table = ALL_TABLES[name]
    return {
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn(c.name, c.type, description=c.description) for c in table.columns
            ]
        ),
        "key": ", ".join(table.key),
    }


def row_count(name: str, warehouse: Warehouse) -> dict:
    """Materialization metadata: the table's row count (the UI plots it over time)."""
    rows = int(warehouse.query(f"SELECT count(*) AS n FROM {ALL_TABLES[name].name}")["n"].iat[0])
    return {"dagster/row_count": rows, "table": name}
