"""KPI anomalies that know the calendar: each business day's net revenue, orders, payment success
and refund rate, overall and per vendor, against a robust baseline of the same series' previous
CHECK_KPI_WINDOW_DAYS days that knows the day of the week and the month-end payday window.

The baseline of a day (from the eligible days before it: not annotated, not provisional):

- **volumes** (net revenue, orders) are multiplicative: level = the median; a weekday factor =
  the median of value / level over that weekday's days outside the payday window (at least two,
  else 1); a payday factor = the median of value / (level x weekday factor) over the payday days
  (at least CHECK_KPI_MIN_PAYDAY_DAYS; until then a payday rise is not judged, only a drop);
  scale = expected x max(1.4826 x MAD of the days' relative residuals, CHECK_KPI_MIN_SCALE_SHARE),
  and for counts at least the Poisson noise sqrt(expected);
- **rates** (payment success, refund rate) are additive: level, weekday and payday offsets the
  same way; scale = max(1.4826 x MAD of the residuals, the binomial noise of the day's own
  denominator, CHECK_KPI_RATE_FLOOR).

A series is judged once it has CHECK_KPI_MIN_HISTORY_DAYS eligible days (a vendor absent on a day
counts zero, once it has that history); it is flagged when |value - expected| / scale >
CHECK_KPI_Z_MAX. The payday window: the last CHECK_KPI_PAYDAY_LAST_DAYS days of a month and the
first CHECK_KPI_PAYDAY_FIRST_DAYS of the next (salaries land).

Provisional days (`is_final` false: data may still arrive) are judged as provisional: a volume or
a refund rate is flagged only when it is already too high, never as a drop; payment success,
a ratio of what has arrived, is judged both ways. Refund rates are judged for rises only, always:
the refunds of a day's orders keep arriving for weeks, so a low recent rate is no news.
Annotated days (`warehouse/annotations.py`) are shown with their note, never flagged, and leave
the baselines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from commercepulse.checks.outcome import WARN, Outcome, Thresholds
from commercepulse.checks.spec import CheckSpec, RuleInputs
from commercepulse.lib.days import days_between
from commercepulse.warehouse import annotations
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.why import explain_change, headline, warehouse_rate

MAD_TO_SIGMA = 1.4826
MEDIAN_EFFICIENCY = math.pi / 2
DAY = timedelta(days=1)
OVERALL = annotations.ALL
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Metric:
    """A judged KPI: `value` (or `value`/`base` for a rate) of the day's figures."""

    label: str
    value: str
    base: str = ""  # a rate's denominator ("" = a volume)
    count: bool = False  # a count: Poisson noise is the least scale
    rises_only: bool = False  # judged for rises only, final or not
    provisional_both_ways: bool = False  # a ratio of what arrived: drops judged while provisional

    @property
    def rate(self) -> bool:
        return bool(self.base)


METRICS: dict[str, Metric] = {
    "net_revenue": Metric("net revenue", "net_revenue"),
    "orders": Metric("orders", "orders", count=True),
    "payment_success": Metric(
        "payment success", "successes", "attempts", provisional_both_ways=True
    ),
    "refund_rate": Metric("refund rate", "refunded_orders", "paid_orders", rises_only=True),
}

#: Per business day and vendor, on each KPI's own day: payment attempts and successes and gross
#: (paid_date), refunds (refund_date), orders (order_date), orders first paid and those refunded
#: (the day of the first successful payment), as the KPI tables count them.
FIGURES = """
WITH pay AS (
  SELECT paid_date AS date, vendor,
         count(CASE WHEN status IN ('SUCCESS', 'FAILED') THEN 1 END) AS attempts,
         count(CASE WHEN status = 'SUCCESS' THEN 1 END) AS successes,
         coalesce(sum(CASE WHEN status = 'SUCCESS' THEN amount_ngn END), 0) AS gross,
         coalesce(sum(CASE WHEN status = 'SUCCESS' THEN power(CAST(amount_ngn AS DOUBLE), 2) END),
                  0) AS gross_sq
  FROM fact_payments WHERE paid_date >= $start AND paid_date < $end GROUP BY paid_date, vendor),
ref AS (
  SELECT refund_date AS date, vendor, sum(amount_ngn) AS refunds, count(*) AS refund_count,
         sum(power(CAST(amount_ngn AS DOUBLE), 2)) AS refunds_sq
  FROM fact_refunds
  WHERE refund_date >= $start AND refund_date < $end GROUP BY refund_date, vendor),
ord AS (
  SELECT order_date AS date, vendor, count(*) AS orders FROM fact_orders
  WHERE order_date >= $start AND order_date < $end GROUP BY order_date, vendor),
paid AS (
  SELECT CAST(first_paid_time AS DATE) AS date, vendor, count(*) AS paid_orders,
         count(CASE WHEN refund_count > 0 THEN 1 END) AS refunded_orders
  FROM fact_orders WHERE first_paid_time IS NOT NULL
    AND CAST(first_paid_time AS DATE) >= $start AND CAST(first_paid_time AS DATE) < $end
  GROUP BY 1, 2),
days AS (
  SELECT DISTINCT date, vendor FROM (
    SELECT date, vendor FROM pay UNION ALL SELECT date, vendor FROM ref
    UNION ALL SELECT date, vendor FROM ord UNION ALL SELECT date, vendor FROM paid))
SELECT days.date, days.vendor,
       coalesce(pay.attempts, 0) AS attempts, coalesce(pay.successes, 0) AS successes,
       coalesce(pay.gross, 0) - coalesce(ref.refunds, 0) AS net_revenue,
       coalesce(ord.orders, 0) AS orders, coalesce(paid.paid_orders, 0) AS paid_orders,
       coalesce(paid.refunded_orders, 0) AS refunded_orders,
       coalesce(pay.successes, 0) + coalesce(ref.refund_count, 0) AS money_events,
       coalesce(pay.gross_sq, 0) + coalesce(ref.refunds_sq, 0) AS money_sq
FROM days LEFT JOIN pay USING (date, vendor) LEFT JOIN ref USING (date, vendor)
     LEFT JOIN ord USING (date, vendor) LEFT JOIN paid USING (date, vendor)"""
#: Whether each day (overall) and each vendor's day is final (the KPI tables' own flags).
FINAL_ALL = "SELECT date, is_final FROM kpi_daily_revenue WHERE date >= $start AND date < $end"
FINAL_VENDOR = (
    "SELECT date, vendor, is_final FROM kpi_vendor_payment_success "
    "WHERE date >= $start AND date < $end"
)
COUNTED = [
    "attempts",
    "successes",
    "net_revenue",
    "orders",
    "paid_orders",
    "refunded_orders",
    "money_events",
    "money_sq",
]


def in_payday(day: date, settings: Thresholds) -> bool:
    """The last CHECK_KPI_PAYDAY_LAST_DAYS days of a month or its first
    CHECK_KPI_PAYDAY_FIRST_DAYS (the month-end window, when salaries land)."""
    to_month_end = ((day.replace(day=28) + timedelta(days=4)).replace(day=1) - day).days
    return (
        to_month_end <= settings.check_kpi_payday_last_days
        or day.day <= settings.check_kpi_payday_first_days
    )


def day_kind(day: date, settings: Thresholds) -> str:
    return WEEKDAYS[day.weekday()] + (
        " in the month-end window" if in_payday(day, settings) else ""
    )


@dataclass(frozen=True)
class Judged:
    """One series' figure on one day against its baseline."""

    day: date
    scope: str
    metric: str
    value: float
    expected: float | None  # None: not judged (too little history)
    low: float | None
    high: float | None
    z: float | None
    flagged: bool
    provisional: bool
    annotated: bool

    def line(self) -> str:
        m = METRICS[self.metric]
        who = "" if self.scope == OVERALL else f"{self.scope} "
        shown = f"{who}{m.label} {fmt(self.metric, self.value)}"
        if self.expected is None:
            return shown + " (not judged: too little history)"
        change = (
            f" ({(self.value - self.expected) / self.expected:+.0%})"
            if not m.rate and self.expected > 0
            else ""
        )
        return (
            f"{shown}{change}, usual {fmt(self.metric, self.expected)} "
            f"(band {fmt(self.metric, self.low)} to {fmt(self.metric, self.high)})"
            + (" so far, provisional" if self.provisional else "")
        )


def fmt(metric: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if METRICS[metric].rate:
        return f"{value:.1%}"
    if metric == "net_revenue":
        return f"{value:,.0f} NGN"
    return f"{value:,.0f}"


def _median(values: np.ndarray) -> float:
    """The median of a short array (np.median's checks cost more than the sort at this size)."""
    ordered = np.sort(values)
    n = len(ordered)
    return float(ordered[(n - 1) // 2] + ordered[n // 2]) / 2


def _baseline(
    values: np.ndarray,
    bases: np.ndarray | None,
    weekdays: np.ndarray,
    paydays: np.ndarray,
    weekday: int,
    payday: bool,
    settings: Thresholds,
) -> tuple[float, float, bool] | None:
    """(expected, relative or absolute scale, payday known) from the eligible history; None when
    it is too short. Volumes: multiplicative (scale relative); rates: additive (scale absolute)."""
    rate = bases is not None
    if len(values) < settings.check_kpi_min_history_days:
        return None
    level = _median(values)
    if not rate and level <= 0:
        return None
    ratio = values - level if rate else values / level
    neutral = 0.0 if rate else 1.0
    factors, used = np.full(7, neutral), np.zeros(7, dtype=int)
    for k in range(7):
        mine = ratio[(weekdays == k) & ~paydays]
        if len(mine) >= 2:
            factors[k], used[k] = _median(mine), len(mine)
    seasonal = factors[weekdays]
    adjusted = ratio - seasonal if rate else ratio / np.where(seasonal > 0, seasonal, 1.0)
    on_payday = adjusted[paydays]
    known = len(on_payday) >= settings.check_kpi_min_payday_days
    pay = _median(on_payday) if known else neutral
    model = seasonal + np.where(paydays, pay, 0.0) if rate else seasonal * np.where(paydays, pay, 1)
    residual = ratio - model if rate else ratio / np.where(model > 0, model, 1.0) - 1.0
    spread = MAD_TO_SIGMA * _median(np.abs(residual - _median(residual)))
    # the factors are medians of a few days: their own error widens the band (a median's
    # variance is pi/2 times a mean's)
    error = MEDIAN_EFFICIENCY * (
        1 / len(values)
        + (1 / used[weekday] if used[weekday] else 0.0)
        + (1 / len(on_payday) if payday and known else 0.0)
    )
    spread *= math.sqrt(1 + error)
    if rate:
        expected = level + factors[weekday] + (pay if payday else 0.0)
        return min(max(expected, 0.0), 1.0), spread, known
    expected = level * factors[weekday] * (pay if payday else 1.0)
    return expected, max(spread, settings.check_kpi_min_scale_share), known


def counting_noise(
    m: Metric,
    arrays: dict[str, np.ndarray],
    history: np.ndarray,
    expected: float,
    today_base: float,
) -> float:
    """The spread counting alone gives a day, with one event's margin (small counts are skewed):
    a count's Poisson sqrt(expected) + 1; a rate's binomial sqrt(p(1-p)/n) + 1/n at the history's
    pooled rate (one success and one failure added, so a spotless history still allows one);
    money's compound Poisson sqrt(mean daily sum of squared amounts) + one typical amount."""
    if m.rate:
        hits = float(arrays[m.value][history].sum())
        tries = float(arrays[m.base][history].sum())
        p = (hits + 1) / (tries + 2)
        return math.sqrt(p * (1 - p) / today_base) + 1 / today_base
    if m.count:  # at least the level's noise: a weekday that is usually empty may see some
        level = _median(arrays[m.value][history])
        return math.sqrt(max(expected, level, 0.0)) + 1
    squares = arrays["money_sq"][history]
    events = float(arrays["money_events"][history].sum())
    typical = math.sqrt(float(squares.sum()) / events) if events else 0.0
    return math.sqrt(float(squares.mean())) + typical if len(squares) else typical


def judge_series(
    frame: pd.DataFrame,
    metric: str,
    days: list[date],
    settings: Thresholds,
    scope: str,
) -> list[Judged]:
    """Judge `days` of one series. `frame`: one row per calendar day (index: date) from
    CHECK_KPI_WINDOW_DAYS before the first day, with the metric's columns, `final` and
    `annotated`."""
    m = METRICS[metric]
    index = list(frame.index)
    position = {d: i for i, d in enumerate(index)}
    arrays = {c: frame[c].to_numpy("float64") for c in COUNTED}
    numerator = arrays[m.value]
    base = frame[m.base].to_numpy("float64") if m.rate else None
    with np.errstate(invalid="ignore", divide="ignore"):
        value = numerator / base if base is not None else numerator
    final = frame["final"].to_numpy(bool)
    annotated = frame["annotated"].to_numpy(bool)
    usable = final & ~annotated & ((base > 0) if base is not None else True)
    weekdays = np.array([d.weekday() for d in index])
    paydays = np.array([in_payday(d, settings) for d in index])
    window = settings.check_kpi_window_days
    out = []
    for day in days:
        i = position[day]
        history = np.arange(max(0, i - window), i)
        history = history[usable[history]]
        today = float(value[i])
        provisional, noted = not bool(final[i]), bool(annotated[i])
        if base is not None and not base[i] > 0:  # no attempts (or paid orders): no rate
            continue
        fit = _baseline(
            value[history],
            base[history] if base is not None else None,
            weekdays[history],
            paydays[history],
            day.weekday(),
            bool(paydays[i]),
            settings,
        )
        if fit is None:
            out.append(Judged(day, scope, metric, today, None, None, None, None, False,
                              provisional, noted))  # fmt: skip
            continue
        expected, spread, payday_known = fit
        noise = counting_noise(m, arrays, history, expected, base[i] if base is not None else 0)
        if m.rate:
            scale = max(spread, noise, settings.check_kpi_rate_floor)
        else:
            scale = max(abs(expected) * spread, noise)
        z = (today - expected) / scale
        rise_only = (
            m.rises_only
            or (provisional and not m.provisional_both_ways)
            or (bool(paydays[i]) and not payday_known and not m.rate)
        )
        beyond = z > settings.check_kpi_z_max or (not rise_only and z < -settings.check_kpi_z_max)
        band = settings.check_kpi_z_max * scale
        low, high = expected - band, expected + band
        if m.rate:
            low, high = max(low, 0.0), min(high, 1.0)
        elif m.count:
            low = max(low, 0.0)
        out.append(  # plain floats: the verdict goes into JSON (report, metadata)
            Judged(
                day,
                scope,
                metric,
                today,
                float(expected),
                float(low),
                float(high),
                float(z),
                bool(beyond and not noted),
                provisional,
                noted,
            )
        )
    return out


def series_frames(
    wh: Warehouse, start: date, end: date, settings: Thresholds
) -> dict[str, pd.DataFrame]:
    """Per scope (OVERALL and each vendor): one row per day of [start - window, end) with the
    counted figures (zero where none), `final` and `annotated`."""
    first = start - timedelta(days=settings.check_kpi_window_days)
    params = {"start": first, "end": end}
    figures = wh.query(FIGURES, params)
    figures["date"] = pd.to_datetime(figures["date"]).dt.date
    calendar = days_between(first, end)
    final_all = wh.query(FINAL_ALL, params)
    final_all = dict(zip(pd.to_datetime(final_all["date"]).dt.date, final_all["is_final"]))
    final_vendor = wh.query(FINAL_VENDOR, params)
    final_vendor = {
        (d, v): f
        for d, v, f in zip(
            pd.to_datetime(final_vendor["date"]).dt.date,
            final_vendor["vendor"],
            final_vendor["is_final"],
        )
    }
    notes = annotations.read(wh, first, end)
    noted = {(d, s) for d, s in zip(notes["date"], notes["scope"])}
    out = {}
    for scope in [OVERALL, *sorted(figures["vendor"].dropna().unique())]:
        mine = figures if scope == OVERALL else figures[figures["vendor"] == scope]
        grid = mine.groupby("date")[COUNTED].sum().reindex(calendar, fill_value=0).astype("float64")
        overall_final = [final_all.get(d) is not False for d in calendar]
        grid["final"] = (
            overall_final
            if scope == OVERALL
            else [
                final_vendor.get((d, scope), f) is not False
                for d, f in zip(calendar, overall_final)
            ]
        )
        grid["annotated"] = [
            (d, OVERALL) in noted or (scope != OVERALL and (d, scope) in noted) for d in calendar
        ]
        out[scope] = grid
    return out


def judge_days(
    wh: Warehouse,
    start: date,
    end: date,
    settings: Thresholds,
    only: tuple[str, str] | None = None,
) -> list[Judged]:
    """Every series of every day of [start, end) (`only`: one (scope, metric)). A series is judged
    from its first day with data (before it, its zeros are no history)."""
    days = days_between(start, end)
    judged = []
    for scope, frame in series_frames(wh, start, end, settings).items():
        if only is not None and scope != only[0]:
            continue
        active = frame[COUNTED].abs().sum(axis=1) > 0
        if not active.any():
            continue
        frame = frame.loc[active.idxmax() :]
        mine = [d for d in days if d in frame.index]
        for metric in METRICS if only is None else (only[1],):
            judged.extend(judge_series(frame, metric, mine, settings, scope))
    return judged


def revenue_band(wh: Warehouse, start: date, end: date, settings: Thresholds) -> pd.DataFrame:
    """Net revenue's usual band on each judged day of [start, end) (the report's revenue chart)."""
    rows = [
        (pd.Timestamp(j.day), j.low, j.high)
        for j in judge_days(wh, start, end, settings, only=(OVERALL, "net_revenue"))
        if j.expected is not None
    ]
    return pd.DataFrame(rows, columns=["date", "band_low", "band_high"])


def kpi_anomalies_by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    """The check's outcome per business day of [start, end)."""
    judged = judge_days(i.warehouse, start, end, i.settings)
    notes = annotations.by_day(annotations.read(i.warehouse, start, end))
    by_day: dict[date, list[Judged]] = {}
    for j in judged:
        by_day.setdefault(j.day, []).append(j)
    out = {}
    for day in days_between(start, end):
        mine = by_day.get(day, [])
        out[day] = day_outcome(i.warehouse, day, mine, notes.get(day, []), i.settings)
    return out


def day_outcome(
    wh: Warehouse, day: date, judged: list[Judged], notes: list[str], settings: Thresholds
) -> Outcome:
    """One day's verdict: the flagged series (figure, baseline, band), net revenue's band, the
    change explained against the same weekday a week before when anything is flagged."""
    flagged = [j for j in judged if j.flagged]
    counted = [j for j in judged if j.expected is not None]
    revenue = next((j for j in judged if j.scope == OVERALL and j.metric == "net_revenue"), None)
    details: dict = {"series_judged": len(counted), "day_kind": day_kind(day, settings)}
    if revenue is not None and revenue.expected is not None:
        details["net_revenue"] = {
            "value": round(revenue.value, 2),
            "baseline": round(revenue.expected, 2),
            "band": [round(revenue.low, 2), round(revenue.high, 2)],
            "provisional": revenue.provisional,
        }
    if notes:
        details["annotations"] = notes
    lines = [j.line() for j in flagged]
    if flagged:
        details["anomalies"] = {f"{j.scope} {j.metric}": j.line() for j in flagged}
        if any(j.metric == "net_revenue" for j in flagged):
            versus = day - timedelta(days=7)
            change = explain_change(wh, day, versus, warehouse_rate(wh, versus))
            details["why"] = headline(change)
            lines.append(" / ".join(details["why"][:3]))
    rows = tuple(
        {
            "scope": j.scope,
            "kpi": METRICS[j.metric].label,
            "value": fmt(j.metric, j.value),
            "usual": fmt(j.metric, j.expected),
            "band": f"{fmt(j.metric, j.low)} to {fmt(j.metric, j.high)}",
            "z": round(j.z, 1),
        }
        for j in flagged
    )
    note = "; ".join(lines)
    if notes:
        note = "; ".join(["annotated: " + " / ".join(notes), *([note] if note else [])])
    return Outcome(
        "kpi_anomalies",
        not flagged,
        len(flagged),
        0,
        WARN,
        details,
        window_only=("series_judged", "day_kind", "net_revenue"),
        note=note,
        rows=rows,
        rows_title=f"{len(flagged)} KPI figure(s) outside their band" if flagged else "",
        unjudged=""
        if counted
        else "no KPI series had CHECK_KPI_MIN_HISTORY_DAYS eligible days before it",
    )


ROWS = (
    CheckSpec(
        asset="kpi_daily_revenue",
        name="kpi_anomalies",
        what="KPI figure(s) outside the band their own history gives that weekday and time of "
        "month",
        action="read the change explained (`commercepulse why kpi_daily_revenue DAY`); if the "
        "day was expected to be unusual (a holiday, an outage, a campaign), annotate it "
        "(`commercepulse annotate DAY --note ...`) so it leaves the baselines",
        description="Net revenue, orders, payment success and refund rate, overall and per "
        "vendor, against a robust baseline of the previous CHECK_KPI_WINDOW_DAYS days that knows "
        "the weekday and the month-end window (checks/kpi_anomalies.py); provisional days are "
        "never flagged as drops, annotated days never flagged (WARN).",
        by_day=kpi_anomalies_by_day,
        reads=("kpi_vendor_payment_success", "kpi_refund_rate"),
    ),
)
