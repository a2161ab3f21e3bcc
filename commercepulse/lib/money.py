"""Exact money at the staging boundary (SPEC §4): an amount is read to the micro-unit, multiplied
by its FX rate in decimal arithmetic, and rounded once, half-even, to the kobo.

Vectorised through Arrow's decimal128 kernels (600k amounts in ~0.3 s), never through binary
float rounding: `round(2.675, 2)` on a float gives 2.67 (the double is 2.67499…), the decimal
rule gives 2.68. Frames keep the results as float64, each the double nearest its kobo value, so
the warehouse's DECIMAL(18,2) cast of it is that exact value."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Digits after the point of money in NGN (the kobo) and of what is read as sent (amounts in
#: their own currency, unit prices, FX rates): a vendor's literal with at most 6 decimals is
#: recovered exactly from its double.
KOBO_SCALE = 2
SENT_SCALE = 6
#: The warehouse types (DuckDB; BigQuery's NUMERIC holds both).
MONEY_SQL = f"DECIMAL(18,{KOBO_SCALE})"
SENT_SQL = f"DECIMAL(18,{SENT_SCALE})"
#: The largest magnitude DECIMAL(18,2) holds; beyond it a value is no amount (null, visible).
LIMIT = 1e16
_AMOUNT = pa.decimal128(22, SENT_SCALE)  # × a rate of _RATE: 38 digits, Arrow's widest
_RATE = pa.decimal128(15, SENT_SCALE)
#: Below 2^33 a double is within half a micro-unit of any 6-decimal literal it was read from, so
#: rounding its binary value to SENT_SCALE recovers the literal; above, the shortest repr does.
_BINARY_EXACT_BELOW = 2.0**33
_MICRO = Decimal(1).scaleb(-SENT_SCALE)


def _decimal(values: np.ndarray, kind: pa.DataType = _AMOUNT) -> pa.Array:
    """Doubles as decimals of SENT_SCALE digits (the literal the double was read from); NaN and
    magnitudes of LIMIT or more are null."""
    floats = np.asarray(values, dtype="float64")
    bound = LIMIT if kind is _AMOUNT else 1e9
    with np.errstate(invalid="ignore"):
        missing = ~(np.abs(floats) < bound)
    exact = pc.cast(pa.array(np.where(missing, 0.0, floats), mask=missing), kind)
    wide = ~missing & (np.abs(np.where(missing, 0.0, floats)) >= _BINARY_EXACT_BELOW)
    if wide.any():  # rare: per value, the literal its shortest repr gives back
        literals = [
            Decimal(repr(v)).quantize(_MICRO, ROUND_HALF_EVEN) for v in floats[wide].tolist()
        ]
        exact = pc.replace_with_mask(exact, pa.array(wide), pa.array(literals, type=kind))
    return exact


def to_kobo(values: np.ndarray, factor: np.ndarray | None = None) -> np.ndarray:
    """`values × factor` (or `values` alone) rounded half-even to the kobo, exactly; NaN stays NaN.

    The product of two SENT_SCALE decimals is exact (Arrow widens it to 12 digits), so the one
    rounding is the half-even one of SPEC §4."""
    exact = _decimal(values)
    if factor is not None:
        exact = pc.multiply(exact, _decimal(factor, _RATE))
    rounded = pc.round(exact, ndigits=KOBO_SCALE, round_mode="half_to_even")
    return _nearest_double(rounded, KOBO_SCALE)


def as_sent(values: np.ndarray) -> np.ndarray:
    """Doubles rounded to SENT_SCALE digits (what the warehouse keeps of an amount as sent)."""
    return _nearest_double(_decimal(values), SENT_SCALE)


def _nearest_double(exact: pa.Array, scale: int) -> np.ndarray:
    """The double nearest each decimal. Arrow's decimal-to-double cast can land an ulp off
    (0.05 → 0.049999999999999996); rint(x·10^scale)/10^scale recovers the integer of units and
    divides it once, correctly rounded while the units stay well below 2^53 (2^50). Larger values
    (rare) go through their decimal text, which Arrow parses correctly rounded."""
    rough = pc.cast(exact, pa.float64()).to_numpy(zero_copy_only=False).astype("float64")
    nearest = np.round(rough, scale)
    with np.errstate(invalid="ignore"):
        wide = np.abs(rough) >= 2.0**50 / 10**scale
    if wide.any():
        text = pc.cast(exact.filter(pa.array(wide)), pa.string())
        nearest[wide] = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    return nearest


def as_decimals(values: np.ndarray, scale: int) -> pd.Series:
    """Doubles as `decimal.Decimal` objects of `scale` digits, None for NaN (a BigQuery NUMERIC
    load takes decimals, not doubles)."""
    exact = pc.cast(_decimal(values), pa.decimal128(22, scale))
    return pd.Series(exact.to_pylist(), dtype=object)
