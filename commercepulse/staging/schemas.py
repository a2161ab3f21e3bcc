"""Staging frame types: dtypes and dagster-pandas constraints derived from the table specs."""
from __future__ import annotations

import pandas as pd
from dagster_pandas import PandasColumn, create_dagster_pandas_dataframe_type
from dagster_pandas.validation import validate_constraints

from commercepulse.warehouse.frames import conform
from commercepulse.warehouse.tables import ALL_TABLES, STAGING, Table


def empty_frame(name: str) -> pd.DataFrame:
    return conform(pd.DataFrame(), STAGING[name])


def pandas_columns(table: Table) -> list[PandasColumn]:
    """Column constraints: presence and non-null for the non-nullable (key) columns."""
    return [PandasColumn.exists(c.name, non_nullable=not c.nullable) for c in table.columns]


STAGING_TYPES = {
    name: create_dagster_pandas_dataframe_type(name=f"{name}_frame", description=table.description,
                                               columns=pandas_columns(table))
    for name, table in STAGING.items()
}


def validate(frame: pd.DataFrame, name: str) -> None:
    """Raise ConstraintViolationException when a frame breaks its table's constraints."""
    validate_constraints(frame, pandas_columns=pandas_columns(ALL_TABLES[name]))
