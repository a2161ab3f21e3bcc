"""Frames shaped like a warehouse table (used by every writer: staging, Silver, BigQuery loads)."""

from __future__ import annotations

import pandas as pd

from commercepulse.warehouse.schema import PANDAS_DTYPES, Table


def conform(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Exactly the table's columns, in order, with its dtypes (missing columns are null)."""
    out = pd.DataFrame(index=frame.index)
    for col in table.columns:
        dtype = PANDAS_DTYPES[col.type]
        values = (
            frame[col.name]
            if col.name in frame
            else pd.Series(pd.NA, index=frame.index, dtype="object")
        )
        if str(values.dtype) == dtype:
            out[col.name] = values
        elif col.type == "TIMESTAMP":
            out[col.name] = pd.to_datetime(values, utc=True).astype(dtype)
        elif col.type == "DATE":
            out[col.name] = pd.to_datetime(values).astype(dtype)
        else:
            out[col.name] = values.astype(dtype)
    return out.reset_index(drop=True)
