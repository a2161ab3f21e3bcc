"""USD -> NGN with the as-of rule of SPEC §4 (never a silent rate of 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from commercepulse.errors import ConfigurationError
from commercepulse.lib.money import to_kobo


class FxRatesMissingError(ConfigurationError):
    """USD amounts need converting but no FX file was found."""


def load_rates(data_dir: Path) -> pd.DataFrame:
    """All `fx_rates_*.csv` of `data_dir` as (rate_date, usd_ngn), sorted, one row per date."""
    files = sorted(Path(data_dir).glob("fx_rates_*.csv"))
    if not files:
        return pd.DataFrame(
            {"rate_date": pd.Series(dtype="datetime64[ns]"), "usd_ngn": pd.Series(dtype="float64")}
        )
    frames = [pd.read_csv(f, dtype={"date": str}) for f in files]
    rates = pd.concat(frames, ignore_index=True)
    rates = rates.rename(columns={"date": "rate_date", "USDNGN": "usd_ngn"})
    rates["rate_date"] = pd.to_datetime(rates["rate_date"], format="%Y-%m-%d")
    rates["usd_ngn"] = pd.to_numeric(rates["usd_ngn"], errors="raise").astype("float64")
    return (
        rates.drop_duplicates("rate_date", keep="last")
        .sort_values("rate_date")
        .reset_index(drop=True)
    )


def convert(
    amount: pd.Series, currency: pd.Series, when: pd.Series, rates: pd.DataFrame
) -> pd.DataFrame:
    """(amount_ngn, fx_rate, fx_rate_date) for each row.

    NGN: rate 1, no rate date. USD: the rate of the day, else the nearest earlier one, else
    (before the table starts) the earliest one; the date used is recorded. Other or missing
    currencies: no NGN amount (left null and visible), never a guessed rate.
    """
    n = len(amount)
    out = pd.DataFrame(
        {
            "amount_ngn": np.full(n, np.nan),
            "fx_rate": np.full(n, np.nan),
            "fx_rate_date": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
        },
        index=amount.index,
    )
    ccy = currency.astype("string").str.upper()
    ngn = (ccy == "NGN").fillna(False).to_numpy()
    # a row whose own time is unparseable has no rate date: it goes to stg_unmapped (normalize)
    usd = ((ccy == "USD").fillna(False) & when.notna()).to_numpy()
    values = pd.to_numeric(amount, errors="coerce").astype("float64")
    out.loc[ngn, "fx_rate"] = 1.0
    if usd.any():
        if rates.empty:
            raise FxRatesMissingError(
                "USD amounts found but no FX rates: put fx_rates_*.csv (date,USDNGN) in DATA_DIR"
            )
        days = when[usd].dt.tz_convert(None).dt.normalize().astype("datetime64[ns]")
        left = pd.DataFrame({"day": days.to_numpy(), "pos": np.flatnonzero(usd)}).sort_values("day")
        matched = pd.merge_asof(
            left, rates, left_on="day", right_on="rate_date", direction="backward"
        )
        early = matched["rate_date"].isna()
        matched.loc[early, "rate_date"] = rates["rate_date"].iloc[0]
        matched.loc[early, "usd_ngn"] = rates["usd_ngn"].iloc[0]
        matched = matched.sort_values("pos")
        idx = out.index[matched["pos"].to_numpy()]
        out.loc[idx, "fx_rate"] = matched["usd_ngn"].to_numpy()
        out.loc[idx, "fx_rate_date"] = matched["rate_date"].to_numpy()
    # one exact rounding per event, half-even to the kobo (lib/money.py)
    out["amount_ngn"] = to_kobo(values.to_numpy(), out["fx_rate"].to_numpy())
    return out
