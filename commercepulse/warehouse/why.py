"""Why net revenue moved between two days: the change split into contributions that add up
exactly, to the kobo, to the change of `kpi_daily_revenue`.

Per vendor (the vendors' changes add up to the whole, by construction), and within a vendor:

- net = gross − refunds, and gross = attempts × success rate × average paid amount;
- **FX**: the day's USD payments valued at the comparison day's USDNGN rate against the rate they
  were converted at (SPEC §4's as-of rule, from the FX files);
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
#: Per vendor and day: payment attempts, successes, gross, USD successful amounts and the NGN
#: they were converted to (the FX part), refunds; on the KPI's own days (paid_date, refund_date).
DAY_FIGURES = """
WITH p AS (
  SELECT vendor, count(*) AS attempts,
         count(CASE WHEN status = 'SUCCESS' THEN 1 END) AS successes,
         coalesce(sum(CASE WHEN status = 'SUCCESS' THEN amount_ngn END), 0) AS gross,
         coalesce(sum(CASE WHEN status = 'SUCCESS' AND currency = 'USD' THEN amount END), 0) AS usd,
         coalesce(sum(CASE WHEN status = 'SUCCESS' AND currency = 'USD' THEN amount_ngn END), 0)
           AS usd_ngn
  FROM fact_payments WHERE paid_date = $day GROUP BY vendor),
r AS (SELECT vendor, coalesce(sum(amount_ngn), 0) AS refunds FROM fact_refunds
      WHERE refund_date = $day GROUP BY vendor)
SELECT coalesce(p.vendor, r.vendor) AS vendor, coalesce(attempts, 0) AS attempts,
       coalesce(successes, 0) AS successes, coalesce(gross, 0) AS gross, coalesce(usd, 0) AS usd,
       coalesce(usd_ngn, 0) AS usd_ngn, coalesce(refunds, 0) AS refunds
FROM p FULL OUTER JOIN r ON p.vendor = r.vendor"""
NET = "SELECT net_revenue_ngn FROM kpi_daily_revenue WHERE date = $day"


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


#: The USDNGN rate the warehouse last converted at on or before a day (the as-of rule's rate when
#: the day had USD payments; the FX files are not read here).
RATE_OF = (
    "SELECT fx_rate FROM fact_payments WHERE currency = 'USD' AND fx_rate_date <= $day "
    "ORDER BY fx_rate_date DESC LIMIT 1"
)


def warehouse_rate(warehouse: Warehouse, day: date) -> float | None:
    """The USDNGN rate of `day` as the warehouse used it (None: no USD payment up to then)."""
    rate = warehouse.query(RATE_OF, {"day": day})
    return float(rate["fx_rate"].iloc[0]) if len(rate) else None


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
    """The parts of one vendor's net change (figures of DAY_FIGURES; zeros where absent)."""
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
) -> RevenueChange:
    """Net revenue of `day` against `versus` (default: a week before), split by vendor and part;
    `rate_before`: the USDNGN rate of `versus` (`staging.fx.rate_of`; None = no FX part).

    `versus` may be several days (a range, or the same weekday of the last weeks): their mean
    figures are the comparison, each vendor's money rounded to the kobo, and the comparison's
    net revenue is the sum of those (so the parts still add up exactly to the change)."""
    days = [versus] if isinstance(versus, date) else list(versus or [default_versus(day)])
    now = warehouse.query(DAY_FIGURES, {"day": day}).set_index("vendor")
    frames = [warehouse.query(DAY_FIGURES, {"day": d}) for d in days]
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
    if len(days) == 1:
        nets = warehouse.query(NET, {"day": days[0]})["net_revenue_ngn"]
        net_before = float(nets.iloc[0]) if len(nets) else 0.0
    else:
        net_before = round(sum(v.before for v in vendors), 2)
    net_now = warehouse.query(NET, {"day": day})["net_revenue_ngn"]
    return RevenueChange(
        day,
        days[0],
        net_before,
        float(net_now.iloc[0]) if len(net_now) else 0.0,
        vendors,
        tuple(days),
    )


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
