"""Why net revenue moved between two days: the change split into contributions that add up
exactly, to the kobo, to the change of `kpi_daily_revenue`.

Per vendor (the vendors' changes add up to the whole, by construction), and within a vendor:

- net = gross − refunds, and gross = attempts × success rate × average paid amount;
- **FX**: the day's USD payments valued at the comparison day's USDNGN rate against the rate they
  were converted at; the comparison day's rate is the one the warehouse converted at, as of that
  day (the latest rate its payments used on or before it: SPEC §4's as-of rule);
- **attempts, success rate, average paid**: the rest of the gross change, split by the Shapley
  value of the product (each factor's marginal effect averaged over the orders in which the
  factors can change; exact, symmetric, no residual term);
- **refunds**: minus their change.

A side with no attempts (or no success) takes the other side's rate (or average), so a vendor
that sent nothing is all "attempts". Each part is computed in floating point and rounded to the
kobo; the few kobo of rounding go to the vendor's largest part, so the parts add up exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd

from commercepulse.warehouse.base import Warehouse

#: The parts of a vendor's net revenue change, in the order they are shown.
PARTS = ("attempts", "success_rate", "avg_paid", "fx", "refunds")
#: Per day and vendor of [start, end): payment attempts (SUCCESS or FAILED, as
#: kpi_vendor_payment_success counts them), successes, gross, USD successful amounts and the NGN
#: they were converted to (the FX part), refunds; on the KPI's own days (paid_date, refund_date).
FIGURES = """
WITH p AS (
  SELECT paid_date AS date, vendor,
         count(CASE WHEN status IN ('SUCCESS', 'FAILED') THEN 1 END) AS attempts,
         count(CASE WHEN status = 'SUCCESS' THEN 1 END) AS successes,
         coalesce(sum(CASE WHEN status = 'SUCCESS' THEN amount_ngn END), 0) AS gross,
         coalesce(sum(CASE WHEN status = 'SUCCESS' AND currency = 'USD' THEN amount END), 0) AS usd,
         coalesce(sum(CASE WHEN status = 'SUCCESS' AND currency = 'USD' THEN amount_ngn END), 0)
           AS usd_ngn
  FROM fact_payments WHERE paid_date >= $start AND paid_date < $end GROUP BY paid_date, vendor),
r AS (SELECT refund_date AS date, vendor, coalesce(sum(amount_ngn), 0) AS refunds
      FROM fact_refunds WHERE refund_date >= $start AND refund_date < $end
      GROUP BY refund_date, vendor)
SELECT coalesce(p.date, r.date) AS date, coalesce(p.vendor, r.vendor) AS vendor,
       coalesce(attempts, 0) AS attempts, coalesce(successes, 0) AS successes,
       coalesce(gross, 0) AS gross, coalesce(usd, 0) AS usd, coalesce(usd_ngn, 0) AS usd_ngn,
       coalesce(refunds, 0) AS refunds
FROM p FULL OUTER JOIN r ON p.date = r.date AND p.vendor = r.vendor"""
NETS = "SELECT date, net_revenue_ngn FROM kpi_daily_revenue WHERE date >= $start AND date < $end"
#: Each USDNGN rate the warehouse converted at, by its date (the as-of rule picks from them).
RATES = (
    "SELECT fx_rate_date AS date, max(fx_rate) AS rate FROM fact_payments "
    "WHERE currency = 'USD' AND fx_rate_date IS NOT NULL GROUP BY fx_rate_date ORDER BY 1"
)


class DayFigures:
    """FIGURES of every day of [start, end), read in one query (a report's window)."""

    def __init__(self, warehouse: Warehouse, start: date, end: date) -> None:
        params = {"start": start, "end": end}
        figures = warehouse.query(FIGURES, params)
        figures["date"] = pd.to_datetime(figures["date"]).dt.date
        self._days = {
            d: f.set_index("vendor").drop(columns="date") for d, f in figures.groupby("date")
        }
        self._empty = figures.iloc[0:0].set_index("vendor").drop(columns="date")
        nets = warehouse.query(NETS, params)
        self._nets = dict(
            zip(pd.to_datetime(nets["date"]).dt.date, nets["net_revenue_ngn"].astype(float))
        )

    def of(self, day: date) -> pd.DataFrame:
        return self._days.get(day, self._empty)

    def net(self, day: date) -> float:
        return self._nets.get(day, 0.0)


@dataclass
class VendorChange:
    vendor: str
    before: float
    now: float
    parts: dict[str, float]
    figures: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def change(self) -> float:
        return round(self.now - self.before, 2)


@dataclass
class RevenueChange:
    day: date
    versus: date
    before: float
    now: float
    vendors: list[VendorChange]
    compared: tuple[date, ...] = ()  # every day of the comparison (its mean), when several

    @property
    def versus_label(self) -> str:
        if len(self.compared) > 1:
            return f"the mean of {', '.join(d.isoformat() for d in self.compared)}"
        return f"{self.versus} ({self.versus:%A})"

    @property
    def change(self) -> float:
        return round(self.now - self.before, 2)

    def as_dict(self) -> dict:
        return {
            "kpi": "kpi_daily_revenue",
            "day": self.day.isoformat(),
            "versus": self.versus.isoformat(),
            "compared": [d.isoformat() for d in self.compared or (self.versus,)],
            "net_revenue_before": self.before,
            "net_revenue_now": self.now,
            "change": self.change,
            "vendors": [
                {
                    "vendor": v.vendor,
                    "before": v.before,
                    "now": v.now,
                    "change": v.change,
                    "parts": v.parts,
                    "figures": v.figures,
                }
                for v in self.vendors
            ],
        }


def warehouse_rates(warehouse: Warehouse) -> pd.Series:
    """Every USDNGN rate the warehouse converted at, by date (ascending)."""
    rates = warehouse.query(RATES)
    return pd.Series(rates["rate"].astype(float).to_numpy(), index=pd.to_datetime(rates["date"]))


def rate_asof(rates: pd.Series, day: date) -> float | None:
    """The rate of the latest date on or before `day` (None: none yet)."""
    at = rates.index.searchsorted(pd.Timestamp(day), side="right")
    return float(rates.iloc[at - 1]) if at else None


def comparison_rate(rates: pd.Series, days: Sequence[date]) -> float | None:
    """The USDNGN rate of a comparison: its day's as-of rate, or the mean over its days."""
    known = [r for d in days if (r := rate_asof(rates, d)) is not None]
    return sum(known) / len(known) if known else None


def warehouse_rate(warehouse: Warehouse, day: date) -> float | None:
    """The USDNGN rate of `day` as the warehouse used it: the as-of rule's rate when the day had
    USD payments (the FX files are not read here); None before any USD payment."""
    return rate_asof(warehouse_rates(warehouse), day)


def default_versus(day: date) -> date:
    """The same weekday a week before."""
    return day - timedelta(days=7)


def _shapley3(a0: float, a1: float, b0: float, b1: float, c0: float, c1: float) -> tuple:
    """Each factor's Shapley share of a·b·c going from (a0, b0, c0) to (a1, b1, c1)."""

    def share(x0, x1, y0, y1, z0, z1):
        return (x1 - x0) * ((y0 * z0 + y1 * z1) / 3 + (y0 * z1 + y1 * z0) / 6)

    return (
        share(a0, a1, b0, b1, c0, c1),
        share(b0, b1, a0, a1, c0, c1),
        share(c0, c1, a0, a1, b0, b1),
    )


def _kobo(value: float) -> int:
    return int(round(Decimal(repr(float(value))) * 100))


def vendor_parts(before: pd.Series, now: pd.Series, rate_before: float | None) -> dict[str, float]:
    """The parts of one vendor's net change (figures of FIGURES; zeros where absent)."""
    fx = 0.0
    if now["usd"] and rate_before is not None:  # now's USD payments at the earlier day's rate
        fx = float(now["usd_ngn"]) - float(now["usd"]) * rate_before
    gross_now = float(now["gross"]) - fx
    a0, a1 = float(before["attempts"]), float(now["attempts"])
    s0 = before["successes"] / a0 if a0 else None
    s1 = now["successes"] / a1 if a1 else None
    p0 = float(before["gross"]) / before["successes"] if before["successes"] else None
    p1 = gross_now / now["successes"] if now["successes"] else None
    s0, s1 = (s0 if s0 is not None else s1 or 0.0), (s1 if s1 is not None else s0 or 0.0)
    p0, p1 = (p0 if p0 is not None else p1 or 0.0), (p1 if p1 is not None else p0 or 0.0)
    attempts, success, paid = _shapley3(a0, a1, s0, s1, p0, p1)
    parts = {
        "attempts": attempts,
        "success_rate": success,
        "avg_paid": paid,
        "fx": fx,
        "refunds": -(float(now["refunds"]) - float(before["refunds"])),
    }
    # to the kobo, the rounding on the largest part: the parts add up exactly
    target = _kobo(float(now["gross"]) - float(now["refunds"])) - _kobo(
        float(before["gross"]) - float(before["refunds"])
    )
    kobo = {k: _kobo(v) for k, v in parts.items()}
    largest = max(kobo, key=lambda k: abs(parts[k]))
    kobo[largest] += target - sum(kobo.values())
    return {k: kobo[k] / 100 for k in PARTS}


def explain_change(
    warehouse: Warehouse,
    day: date,
    versus: date | Sequence[date] | None = None,
    rate_before: float | None = None,
    figures: DayFigures | None = None,
) -> RevenueChange:
    """Net revenue of `day` against `versus` (default: a week before), split by vendor and part;
    `rate_before`: the USDNGN rate of `versus` (`warehouse_rate`; None = no FX part).

    `versus` may be several days (a range, or the same weekday of the last weeks): their mean
    figures are the comparison, each vendor's money rounded to the kobo, and the comparison's
    net revenue is the sum of those (so the parts still add up exactly to the change)."""
    days = [versus] if isinstance(versus, date) else list(versus or [default_versus(day)])
    if figures is None:
        figures = DayFigures(warehouse, min(*days, day), max(*days, day) + timedelta(days=1))
    now = figures.of(day)
    frames = [figures.of(d).reset_index() for d in days]
    before = (
        pd.concat(frames).groupby("vendor").sum(numeric_only=True) / len(days)
        if any(len(f) for f in frames)
        else now.iloc[0:0]
    )
    before[MONEY] = before[MONEY].round(2)
    zero = pd.Series(
        {"attempts": 0, "successes": 0, "gross": 0.0, "usd": 0.0, "usd_ngn": 0.0, "refunds": 0.0}
    )
    vendors = []
    for vendor in sorted(set(before.index) | set(now.index)):
        was = before.loc[vendor] if vendor in before.index else zero
        is_ = now.loc[vendor] if vendor in now.index else zero
        vendors.append(
            VendorChange(
                vendor,
                round(float(was["gross"]) - float(was["refunds"]), 2),
                round(float(is_["gross"]) - float(is_["refunds"]), 2),
                vendor_parts(was, is_, rate_before),
                {"before": _plain(was), "now": _plain(is_)},
            )
        )
    vendors.sort(key=lambda v: -abs(v.change))
    net_before = (
        figures.net(days[0]) if len(days) == 1 else round(sum(v.before for v in vendors), 2)
    )
    return RevenueChange(day, days[0], net_before, figures.net(day), vendors, tuple(days))


def changes_for_days(warehouse: Warehouse, days: list[date]) -> dict[date, RevenueChange]:
    """Each day's change against the same weekday a week before, from one read (a report)."""
    if not days:
        return {}
    figures = DayFigures(warehouse, min(days) - timedelta(days=7), max(days) + timedelta(days=1))
    rates = warehouse_rates(warehouse)
    return {
        d: explain_change(
            warehouse, d, default_versus(d), rate_asof(rates, default_versus(d)), figures
        )
        for d in days
    }


def same_weekdays(day: date, weeks: int) -> list[date]:
    """The same weekday of each of the `weeks` weeks before `day` (newest first)."""
    return [day - timedelta(days=7 * k) for k in range(1, weeks + 1)]


MONEY = ["gross", "usd", "usd_ngn", "refunds"]


def _plain(row: pd.Series) -> dict[str, float]:
    return {
        k: (
            int(v)
            if k in ("attempts", "successes") and float(v).is_integer()
            else round(float(v), 2)
        )
        for k, v in row.items()
    }


def headline(change: RevenueChange) -> list[str]:
    """The lines for people: the whole change, then each vendor's with its parts."""
    pct = f" ({change.change / change.before:+.0%})" if change.before > 0 else ""
    lines = [
        f"net revenue {change.day} vs {change.versus_label}: "
        f"{change.before:,.2f} → {change.now:,.2f} NGN, {change.change:+,.2f}{pct}"
    ]
    for v in change.vendors:
        if not v.change and not any(v.parts.values()):
            continue
        parts = ", ".join(
            f"{name.replace('_', ' ')} {v.parts[name]:+,.2f}" for name in PARTS if v.parts[name]
        )
        b, n = v.figures["before"], v.figures["now"]
        rates = ""
        if b["attempts"] and n["attempts"]:
            rates = f"; success {b['successes'] / b['attempts']:.0%} → {n['successes'] / n['attempts']:.0%}"
        lines.append(f"  {v.vendor} {v.change:+,.2f}: {parts}{rates}")
    return lines
