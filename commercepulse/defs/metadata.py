"""Dagster metadata derived from the table specs (shown on every table asset)."""

from collections.abc import Iterable, Sequence

import dagster as dg

from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.schema import ALL_TABLES


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


def where(warehouse: Warehouse) -> str:
    """Where the table lives: the DuckDB file, or the BigQuery dataset."""
    path = getattr(warehouse, "path", None)
    return f"duckdb:{path}" if path else f"bigquery:{getattr(warehouse, 'dataset_id', '?')}"


def row_count(name: str, warehouse: Warehouse) -> dict:
    """Materialization metadata: the table's row count (the UI plots it over time) and where it is."""
    rows = int(warehouse.query(f"SELECT count(*) AS n FROM {ALL_TABLES[name].name}")["n"].iat[0])
    return {"dagster/row_count": rows, "table": name, "warehouse": where(warehouse)}


def latest_rows(name: str, warehouse: Warehouse, days: int = 5) -> dict:
    """The table's rows of its latest `days` dates as a small table (a KPI's latest values in the UI)."""
    table = ALL_TABLES[name]
    day = next((c.name for c in table.columns if c.type == "DATE"), None)
    if day is None:
        return {}
    frame = warehouse.query(
        f"SELECT * FROM {table.name} WHERE {day} IN "
        f"(SELECT DISTINCT {day} FROM {table.name} ORDER BY {day} DESC LIMIT {int(days)}) "
        f"ORDER BY {', '.join([day, *[k for k in table.key if k != day]])} DESC"
    )
    if frame.empty:
        return {"latest": dg.MetadataValue.md("no rows yet")}
    return {"latest": md_table(list(frame.columns), frame.itertuples(index=False))}


def md_table(columns: list[str], rows: Iterable[Sequence], title: str = "") -> dg.MetadataValue:
    """A Markdown table (the UI renders it in the metadata panel); cells escaped for Markdown."""
    header = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns)
    lines = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md(
        "\n".join([*([f"**{title}**", ""] if title else []), header, *lines])
    )


def _cell(value) -> str:
    if hasattr(value, "date") and callable(value.date):
        return str(value.date())
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.2f}"
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "\\`")
