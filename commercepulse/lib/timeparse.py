"""The one timestamp rule: every vendor format to UTC, vectorized.

Accepted: ISO with `Z` or an offset, naive ISO, "YYYY-MM-DD HH:MM", "YYYY/MM/DD HH:MM:SS"
and epoch seconds (numbers or numeric strings). Naive times are UTC whatever the values
around them (SPEC §2.3). Anything else is NaT.

pandas reads a naive string in the offset of the offset-bearing value before it when one
column mixes both, so the two kinds are parsed apart: the result never depends on a value's
neighbours or on the order of the batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pandas as pd

#: A trailing UTC designator or numeric offset (`Z`, `+01:00`, `+0100`, `-05`).
OFFSET_SUFFIX = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _parse_text(text: pd.Series) -> pd.Series:
    """ISO-like strings to UTC: offset-bearing and naive values parsed separately."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    has_offset = text.str.contains(OFFSET_SUFFIX, regex=True)
    for mask in (has_offset, ~has_offset):
        if mask.any():
            parsed = pd.to_datetime(text[mask], format="ISO8601", utc=True, errors="coerce")
            out.loc[mask] = parsed.astype("datetime64[ns, UTC]")
    return out


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
        out.loc[text_mask] = _parse_text(text)
    return out.astype("datetime64[ns, UTC]")


def parse_time(value: object) -> datetime | None:
    """One value by the same rule, without pandas (per-line landing): a UTC-aware datetime, or
    None when unparseable. `parse_times` and this agree on every value (a property test)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or abs(value) >= 1e11:
            return None
        return EPOCH + timedelta(microseconds=round(value * 1e6))
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("/", "-"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_pydatetimes(times: pd.Series) -> list[datetime | None]:
    """UTC-aware python datetimes (None for NaT), as BSON wants them."""
    arr = pd.DatetimeIndex(times).to_pydatetime()
    isna = times.isna().to_numpy()
    return (
        [None if missing else value for value, missing in zip(arr, isna)]
        if isna.any()
        else list(arr)
    )
