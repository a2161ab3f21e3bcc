"""Staging frame types: dtypes and dagster-pandas constraints derived from the table specs."""

from __future__ import annotations

import pandas as pd
from dagster_pandas import PandasColumn
from dagster_pandas.constraints import ConstraintViolationException
from dagster_pandas.validation import validate_constraints

from commercepulse.warehouse.frames import conform
from commercepulse.warehouse.schema import ALL_TABLES, STAGING, Table


def empty_frame(name: str) -> pd.DataFrame:
    return conform(pd.DataFrame(), STAGING[name])


def pandas_columns(table: Table) -> list[PandasColumn]:
    """Column constraints: presence and non-null for the non-nullable (key) columns."""
    return [PandasColumn.exists(c.name, non_nullable=not c.nullable) for c in table.columns]


class SchemaViolation(ValueError):
    """A frame breaks its table's constraints (a bug or an unexpected source change)."""


def validate(frame: pd.DataFrame, name: str, where: str = "") -> pd.DataFrame:
    """The frame itself; SchemaViolation when it breaks its table's constraints."""
    try:
        validate_constraints(frame, pandas_columns=pandas_columns(ALL_TABLES[name]))
    except ConstraintViolationException as exc:
        raise SchemaViolation(
            f"{name}{f' for {where}' if where else ''} breaks its schema: {exc}"
        ) from exc
    return frame
