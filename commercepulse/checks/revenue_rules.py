"""Rules on the reported revenue: days whose net revenue was restated beyond materiality. The
file ends with its catalogue row."""

from __future__ import annotations

from datetime import date
from typing import Any

from commercepulse.checks.outcome import WARN, Outcome, Thresholds
from commercepulse.checks.spec import CheckSpec, RuleInputs
from commercepulse.lib.days import days_between
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.restatements import restatements


def revenue_restatements(wh: Warehouse, settings: Thresholds, run_id: str | None = None):
    """Each day whose net revenue now differs from its previous report (revenue_snapshots): the
    drift, the materiality limit max(floor, share x |net before|) and whether it is beyond it."""
    rows = wh.query("""
        WITH ranked AS (SELECT date, run_id, net_revenue_ngn,
                               row_number() OVER (PARTITION BY date ORDER BY reported_at DESC, run_id DESC) AS k
                        FROM revenue_snapshots)
        SELECT cur.date, cur.run_id, cur.net_revenue_ngn AS now_ngn, prev.net_revenue_ngn AS before_ngn
        FROM ranked cur JOIN ranked prev ON prev.date = cur.date AND prev.k = 2
        WHERE cur.k = 1 ORDER BY cur.date""")
    if run_id is not None:
        rows = rows[rows["run_id"] == run_id]
    rows = rows.assign(drift=(rows["now_ngn"] - rows["before_ngn"]).round(2))
    rows = rows[rows["drift"] != 0]
    limit = (rows["before_ngn"].abs() * settings.check_revenue_drift_max_share).clip(
        lower=settings.check_revenue_drift_floor_ngn
    )
    return rows.assign(limit=limit.round(2), material=rows["drift"].abs() > limit)


def materiality(settings: Thresholds) -> str:
    return (
        f"max({settings.check_revenue_drift_floor_ngn:,.0f} NGN, "
        f"{settings.check_revenue_drift_max_share:.1%} of the day's net as reported before)"
    )


def revenue_drift(i: RuleInputs, start: date, end: date) -> Outcome:
    """Days whose reported net revenue was restated beyond materiality (late data restates days:
    expected; every change, material or not, is kept in kpi_restatements). Judged over every day
    the run restated (`i.run_id`; all days outside Dagster), whatever the window."""
    wh, settings, run_id = i.warehouse, i.settings, i.run_id
    changed = revenue_restatements(wh, settings, run_id)
    material = changed[changed["material"]]
    details: dict[str, Any] = {
        "days_changed": {str(r.date.date()): float(r.drift) for r in changed.itertuples()},
        "material_days": {str(r.date.date()): float(r.drift) for r in material.itertuples()},
        "drift_ngn": round(float(changed["drift"].abs().sum()), 2),
        "materiality": materiality(settings),
    }
    if len(changed):
        restated = restatements(wh)
        if run_id is not None:
            restated = restated[restated["run_id"] == run_id]
        details["restated"] = restated["description"].tolist()
        shown = restated[restated["date"].isin(material["date"])]["description"].tolist()
    else:
        shown = []
    note = "; ".join(shown[:3]) + (f" and {len(shown) - 3} more day(s)" if len(shown) > 3 else "")
    return Outcome("revenue_drift", material.empty, len(material), 0, WARN, details, note=note)


def revenue_drift_by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    """Each day's own restatement against its materiality limit (the daily report's view)."""
    changed = revenue_restatements(i.warehouse, i.settings)
    of_day = {r.date.date(): r for r in changed.itertuples()}
    floor = i.settings.check_revenue_drift_floor_ngn
    out = {}
    for day in days_between(start, end):
        row = of_day.get(day)
        figure, limit = (float(row.drift), float(row.limit)) if row is not None else (0.0, floor)
        out[day] = Outcome(
            "revenue_drift",
            abs(figure) <= limit,
            figure,
            limit,
            WARN,
            {"materiality": materiality(i.settings)},
        )
    return out


ROWS = (
    CheckSpec(
        asset="kpi_daily_revenue",
        name="revenue_drift",
        what="day(s) restated beyond materiality",
        action="read the restatement line: late payments or refunds changed a reported day; tell whoever used its figure",
        description="Days whose net revenue was restated beyond materiality (max of "
        "CHECK_REVENUE_DRIFT_FLOOR_NGN and CHECK_REVENUE_DRIFT_MAX_SHARE of the day's reported "
        "net; WARN). Every restatement is in kpi_restatements.",
        rule=revenue_drift,
        by_day=revenue_drift_by_day,
        windowed=False,
    ),
)
