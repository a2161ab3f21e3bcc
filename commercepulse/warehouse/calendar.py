"""dim_date rows for a range of days (built in pandas: calendar arithmetic differs per engine)."""

from __future__ import annotations

import pandas as pd


def calendar(lo, hi) -> pd.DataFrame:
    """One row per day of [lo, hi]; empty when either bound is missing."""
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        days = pd.DatetimeIndex([], dtype="datetime64[ns]")
    else:
        days = pd.date_range(pd.Timestamp(lo), pd.Timestamp(hi), freq="D")
    iso_dow = days.dayofweek + 1  # 1 = Monday
    return pd.DataFrame(
        {
            "date": days.astype("datetime64[ns]"),
            "year": days.year.astype("int64"),
            "quarter": days.quarter.astype("int64"),
            "month": days.month.astype("int64"),
            "day": days.day.astype("int64"),
            "day_of_week": iso_dow.astype("int64"),
            "is_weekend": (iso_dow >= 6).astype(bool),
        }
    )
