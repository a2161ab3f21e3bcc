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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd

from commercepulse.warehouse import annotations
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.late_part import expected_late, late_lines

DAY = timedelta(days=1)

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
        self._days: dict[date, dict[str, dict]] = {}
        for row in figures.to_dict("records"):
            self._days.setdefault(row.pop("date"), {})[row.pop("vendor")] = row
        nets = warehouse.query(NETS, params)
        self._nets = dict(
            zip(pd.to_datetime(nets["date"]).dt.date, nets["net_revenue_ngn"].astype(float))
        )

    def of(self, day: date) -> dict[str, dict]:
        """The day's figures by vendor ({} when none)."""
        return self._days.get(day, {})

    def mean(self, days: Sequence[date]) -> dict[str, dict]:
        """Each vendor's mean figures over `days` (absent days count zero), money to the kobo."""
        out: dict[str, dict] = {}
        for day in days:
            for vendor, row in self.of(day).items():
                into = out.setdefault(vendor, dict.fromkeys(row, 0.0))
                for key, value in row.items():
                    into[key] += float(value)
        return {
            vendor: {k: round(v / len(days), 2) if k in MONEY else v / len(days)
                     for k, v in row.items()}
            for vendor, row in out.items()
        }  # fmt: skip

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
                    # the payments and refunds behind the vendor's figure, with their raw events
                    "rows": f"commercepulse explain kpi_daily_revenue {self.day} --vendor {v.vendor}",
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


def vendor_parts(before: Mapping, now: Mapping, rate_before: float | None) -> dict[str, float]:
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
    before = figures.of(days[0]) if len(days) == 1 else figures.mean(days)
    zero = {"attempts": 0, "successes": 0, "gross": 0.0, "usd": 0.0, "usd_ngn": 0.0, "refunds": 0.0}
    vendors = []
    for vendor in sorted(set(before) | set(now)):
        was = before.get(vendor, zero)
        is_ = now.get(vendor, zero)
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


def _plain(row: Mapping) -> dict[str, float]:
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


@dataclass
class ShareChange:
    """A whole's change split by vendor, adding up exactly: orders (counts), or payment success
    (a rate: each vendor's part is its own rate's move at its mean weight, plus its weight's move
    at its mean rate, the mix)."""

    kpi: str
    before: float
    now: float
    vendors: dict[str, dict[str, float]]  # vendor -> {"change", and for a rate "rate", "mix"}

    @property
    def change(self) -> float:
        return self.now - self.before


def orders_change(counts: dict[str, tuple[float, float]]) -> ShareChange:
    """Orders by vendor {vendor: (before, now)}: each vendor's change is its own."""
    vendors = {v: {"change": now - was} for v, (was, now) in counts.items()}
    return ShareChange(
        "orders",
        sum(was for was, _ in counts.values()),
        sum(now for _, now in counts.values()),
        vendors,
    )


def success_change(figures: dict[str, tuple[float, float, float, float]]) -> ShareChange:
    """Payment success {vendor: (attempts before, successes before, attempts now, successes
    now)}: overall rate = sum of weight x rate; a vendor's part w1·r1 − w0·r0 splits exactly into
    rate (mean weight x rate move) and mix (mean rate x weight move). A side without attempts
    takes the other side's rate (a vendor that sent nothing moves the mix only)."""
    a0 = sum(f[0] for f in figures.values())
    a1 = sum(f[2] for f in figures.values())
    vendors = {}
    for vendor, (att0, ok0, att1, ok1) in figures.items():
        r0 = ok0 / att0 if att0 else (ok1 / att1 if att1 else 0.0)
        r1 = ok1 / att1 if att1 else r0
        w0, w1 = (att0 / a0 if a0 else 0.0), (att1 / a1 if a1 else 0.0)
        vendors[vendor] = {
            "change": w1 * r1 - w0 * r0,
            "rate": (w0 + w1) / 2 * (r1 - r0),
            "mix": (r0 + r1) / 2 * (w1 - w0),
        }
    before = sum(f[1] for f in figures.values()) / a0 if a0 else 0.0
    now = sum(f[3] for f in figures.values()) / a1 if a1 else 0.0
    return ShareChange("payment_success", before, now, vendors)


#: Order lines of the orders first paid on each day of [start, end) (kpi_top_products' own
#: selection: the latest order_created event of each paid order), by SKU, with the SKU's catalog
#: category when the order was placed.
LINES = """
WITH o AS (
  SELECT x.event_id, CAST(f.first_paid_time AS DATE) AS date
  FROM stg_orders x JOIN fact_orders f ON f.vendor = x.vendor AND f.order_id = x.order_id
  WHERE f.first_paid_time IS NOT NULL
    AND CAST(f.first_paid_time AS DATE) >= $start AND CAST(f.first_paid_time AS DATE) < $end
  QUALIFY row_number() OVER (PARTITION BY x.vendor, x.order_id
                             ORDER BY x.order_time DESC, x.event_id DESC) = 1)
SELECT o.date, i.sku, coalesce(p.category, '(no category)') AS category,
       sum(i.qty * i.unit_price_ngn) AS revenue
FROM stg_order_items i JOIN o ON i.event_id = o.event_id
LEFT JOIN dim_product_history p ON p.sku = i.sku AND i.order_time >= p.valid_from
     AND (p.valid_to IS NULL OR i.order_time < p.valid_to)
WHERE i.sku IS NOT NULL
GROUP BY o.date, i.sku, coalesce(p.category, '(no category)')"""
#: Movers listed beside a change.
MOVERS = 5


def read_lines(warehouse: Warehouse, start: date, end: date) -> pd.DataFrame:
    """LINES of [start, end): date, sku, category, revenue."""
    lines = warehouse.query(LINES, {"start": start, "end": end})
    return lines.assign(
        date=pd.to_datetime(lines["date"]).dt.date, revenue=lines["revenue"].astype(float)
    )


def _ranked(frame: pd.DataFrame, key: str, top: int) -> dict[date, list[dict]]:
    """Per day, the `top` keys by |now - before| (`frame`: date, key, before, now)."""
    frame = frame.assign(change=frame["now"] - frame["before"])
    frame = frame[frame["change"] != 0]
    frame = frame.assign(size=frame["change"].abs()).sort_values(
        ["date", "size", key], ascending=[True, False, True]
    )
    out: dict[date, list[dict]] = {}
    for day, rows in frame.groupby("date", sort=False):
        rows = rows.head(top)
        out[day] = [
            {key: k, "before": round(b, 2), "now": round(n, 2), "change": round(c, 2)}
            for k, b, n, c in zip(rows[key], rows["before"], rows["now"], rows["change"])
        ]
    return out


def movers(
    lines: pd.DataFrame, day: date, compared: Sequence[date], top: int = MOVERS
) -> dict[str, list[dict]]:
    """The SKUs and categories whose paid order lines' revenue moved most between the
    comparison (its mean) and `day` (`lines`: `read_lines` covering them)."""
    out = {}
    for key in ("sku", "category"):
        now = lines[lines["date"] == day].groupby(key)["revenue"].sum()
        was = lines[lines["date"].isin(compared)].groupby(key)["revenue"].sum() / len(compared)
        both = pd.concat([was.rename("before"), now.rename("now")], axis=1).fillna(0.0)
        both = both.rename_axis(key).reset_index().assign(date=day)
        out[key] = _ranked(both, key, top).get(day, [])
    return out


def movers_a_week_apart(
    lines: pd.DataFrame, days: Sequence[date], top: int = MOVERS
) -> dict[date, dict[str, list[dict]]]:
    """`movers` of each day against a week before, at once (a report's window)."""
    out: dict[date, dict[str, list[dict]]] = {d: {} for d in days}
    for key in ("sku", "category"):
        now = lines.groupby(["date", key])["revenue"].sum().rename("now")
        was = lines.assign(date=lines["date"] + timedelta(days=7))
        was = was.groupby(["date", key])["revenue"].sum().rename("before")
        both = pd.concat([was, now], axis=1).fillna(0.0).reset_index()
        both = both[both["date"].isin(set(days))]
        ranked = _ranked(both, key, top)
        for d in days:
            out[d][key] = ranked.get(d, [])
    return out


def mover_lines(moved: dict[str, list[dict]]) -> list[str]:
    """The movers for people: 'top SKUs moved: SKU-1 +12,000.00, …'."""
    return [
        f"top {key if key == 'sku' else 'categories'} moved (paid order lines): "
        + ", ".join(f"{m[key]} {m['change']:+,.2f}" for m in rows)
        for key, rows in moved.items()
        if rows
    ]


#: Orders per day and vendor (order_date), as kpi_anomalies counts them.
ORDERS = (
    "SELECT order_date AS date, vendor, count(*) AS orders FROM fact_orders "
    "WHERE order_date >= $start AND order_date < $end GROUP BY order_date, vendor"
)
#: The KPIs `why` splits, by the name a user gives.
WHY_KPIS = ("kpi_daily_revenue", "orders", "kpi_vendor_payment_success")


def share_change(
    warehouse: Warehouse, kpi: str, day: date, compared: Sequence[date]
) -> ShareChange:
    """Orders or payment success of `day` against the mean of `compared`, by vendor."""
    start, end = min(*compared, day), max(*compared, day) + timedelta(days=1)
    if kpi == "orders":
        frame = warehouse.query(ORDERS, {"start": start, "end": end})
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
        now = frame[frame["date"] == day].groupby("vendor")["orders"].sum()
        was = frame[frame["date"].isin(compared)].groupby("vendor")["orders"].sum() / len(compared)
        vendors = sorted(set(now.index) | set(was.index))
        return orders_change({v: (float(was.get(v, 0.0)), float(now.get(v, 0.0))) for v in vendors})
    figures = DayFigures(warehouse, start, end)
    now, was = figures.of(day), figures.mean(compared)

    def pair(rows: dict[str, dict], vendor: str) -> tuple[float, float]:
        row = rows.get(vendor, {})
        return float(row.get("attempts", 0)), float(row.get("successes", 0))

    return success_change({v: (*pair(was, v), *pair(now, v)) for v in sorted({*now, *was})})


def share_headline(change: ShareChange, day: date, compared: Sequence[date]) -> list[str]:
    """The lines for people of an orders or payment success change."""
    versus = (
        f"{compared[0]} ({compared[0]:%A})"
        if len(compared) == 1
        else "the mean of " + ", ".join(d.isoformat() for d in compared)
    )
    ordered = sorted(change.vendors.items(), key=lambda kv: -abs(kv[1]["change"]))
    if change.kpi == "orders":
        return [
            f"orders {day} vs {versus}: {change.before:,.1f} → {change.now:,.0f}, "
            f"{change.change:+,.1f}"
        ] + [f"  {v} {parts['change']:+,.1f}" for v, parts in ordered if parts["change"]]
    points = 100
    return [
        f"payment success {day} vs {versus}: {change.before:.1%} → {change.now:.1%}, "
        f"{change.change * points:+.1f} points"
    ] + [
        f"  {v} {p['change'] * points:+.1f} points: its rate {p['rate'] * points:+.1f}, "
        f"its share of attempts {p['mix'] * points:+.1f}"
        for v, p in ordered
        if abs(p["change"]) > 1e-12
    ]


@dataclass
class Why:
    """Why one KPI moved, as the CLI (`commercepulse why`) and the UI (`why_job`) show it: the
    split, the movers beside net revenue, and the notes of the days compared."""

    kpi: str
    day: date
    compared: tuple[date, ...]
    lines: list[str]
    payload: dict
    revenue: RevenueChange | None = None


def explain_kpi(warehouse: Warehouse, kpi: str, day: date, compared: Sequence[date]) -> Why:
    """`kpi` (one of WHY_KPIS) of `day` against `compared` (its mean when several)."""
    compared = tuple(compared)
    if kpi == "kpi_daily_revenue":
        change = explain_change(
            warehouse, day, compared, comparison_rate(warehouse_rates(warehouse), compared)
        )
        lines_read = read_lines(warehouse, min(*compared, day), max(*compared, day) + DAY)
        moved = movers(lines_read, day, compared)
        late = expected_late(warehouse, day)
        lines = headline(change) + late_lines(late) + mover_lines(moved)
        payload = change.as_dict() | {
            "movers": moved,
            "still_expected_from_late_data": [
                {"vendor": p.vendor, "late_net": p.late_net, "age_hours": round(p.age_hours, 1),
                 "completeness": p.completeness, "so_far": p.so_far}
                for p in late
            ],
        }  # fmt: skip
    else:
        share = share_change(warehouse, kpi, day, compared)
        change = None
        lines = share_headline(share, day, compared)
        payload = {
            "kpi": kpi,
            "day": day.isoformat(),
            "compared": [d.isoformat() for d in compared],
            "before": share.before,
            "now": share.now,
            "change": share.change,
            "vendors": share.vendors,
        }
    notes = annotations.by_day(annotations.read(warehouse, min(compared), day + DAY))
    lines += [f"note on {d}: {' / '.join(n)}" for d, n in sorted(notes.items())]
    payload["annotations"] = {str(d): n for d, n in notes.items()}
    return Why(kpi, day, compared, lines, payload, change)
