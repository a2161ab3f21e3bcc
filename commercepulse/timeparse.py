"""The one timestamp rule: every vendor format to UTC, vectorized.

Accepted: ISO with `Z` or an offset, naive ISO, "YYYY-MM-DD HH:MM", "YYYY/MM/DD HH:MM:SS"
and epoch seconds (numbers or numeric strings). Naive times are UTC. Anything else is NaT.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd


def parse_times(values: Sequence | pd.Series) -> pd.Series:
    """Parse a column of raw time values into `datetime64[ns, UTC]` (NaT when unparseable)."""
    raw = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    raw = raw.astype(object)
    is_bool = raw.map(type).eq(bool)
    epoch = pd.to_numeric(raw.where(~is_bool), errors="coerce").astype("float64")
    in_range = epoch.abs() < 1e11  # epoch seconds up to year ~5000; larger is not a time
    nanos = (epoch.where(in_range) * 1e9).round().astype("Int64")
    out = pd.to_datetime(nanos, unit="ns", utc=True)
    text_mask = epoch.isna() & raw.notna() & ~is_bool
    if text_mask.any():
        text = raw[text_mask].astype(str).str.replace("/", "-", regex=False).str.strip()
        out.loc[text_mask] = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    return out.astype("datetime64[ns, UTC]")


def to_pydatetimes(times: pd.Series) -> list[datetime | None]:
    """UTC-aware python datetimes (None for NaT), as BSON wants them."""
    arr = pd.DatetimeIndex(times).to_pydatetime()
    isna = times.isna().to_numpy()
    return [None if missing else value for value, missing in zip(arr, isna)] if isna.any() else list(arr)
