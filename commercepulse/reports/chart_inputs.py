"""What each chart of a day shows, as a digest (equal digests, equal PNG bytes): the report
writer decides from these which charts to draw without importing matplotlib (`charts.py`)."""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd

CHART_DAYS = 60
CHART_NAMES = ("revenue.png", "quality_rates.png", "payment_success.png", "vendor_feed.png")


def inputs(
    day: date,
    revenue: pd.DataFrame,
    late: pd.DataFrame,
    success: pd.DataFrame,
    feed: pd.DataFrame,
) -> dict[str, str]:
    """A digest of what each chart of the day shows (equal digests, equal PNG bytes)."""
    # the quality and feed charts name no day: days without live ingestion in their window share one image
    return {
        "revenue.png": _digest("revenue", str(day), revenue),
        "quality_rates.png": _digest("quality", str(day) if len(late) else "", late),
        "payment_success.png": _digest("success", str(day) if len(success) else "", success),
        "vendor_feed.png": _digest("feed", str(day) if len(feed) else "", feed),
    }


def _digest(*parts) -> str:
    text = repr(
        tuple(
            tuple(map(tuple, p.astype(str).to_numpy().tolist()))
            if isinstance(p, pd.DataFrame)
            else p
            for p in parts
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()
