"""Identifiers: blank or whitespace-only ids are missing values, everywhere (SPEC §9).

One rule for user, session, order, SKU, customer and email ids, for the per-line landing
(`is_blank`, no pandas) and for the frames of staging and Silver (`clean_ids`).
"""

from __future__ import annotations

import pandas as pd


def is_blank(value: object) -> bool:
    """None, or a string with nothing but whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def clean_ids(values) -> pd.Series:
    """Ids as trimmed strings; blank, whitespace-only, missing and null are all <NA>."""
    text = pd.Series(values, dtype="object") if not isinstance(values, pd.Series) else values
    text = text.astype("string").str.strip()
    return text.mask(text.eq(""))
