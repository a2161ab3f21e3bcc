"""Dagster metadata derived from the table specs (shown on every table asset)."""
import dagster as dg

from commercepulse.warehouse.tables import ALL_TABLES


def table_metadata_spec(name: str) -> dict:
    """Column schema (names, types, descriptions) and declared key of a warehouse table."""
    table = ALL_TABLES[name]
    return {"dagster/column_schema": dg.TableSchema(columns=[
        dg.TableColumn(c.name, c.type, description=c.description) for c in table.columns]),
        "key": ", ".join(table.key)}
