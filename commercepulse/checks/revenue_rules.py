"""Rules on the reported revenue: days whose net revenue was restated beyond materiality. The
file ends with its catalogue row."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from commercepulse.checks.outcome import WARN, Outcome, Thresholds, as_date
from commercepulse.checks.spec import CheckSpec, RuleInputs
from commercepulse.lib.days import days_between
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.restatements import restatements


def revenue_restatements(wh: Warehouse, settings: Thresholds, run_id: str | None = None):
    """Each day whose net revenue the latest report changed from the one before (revenue_snapshots;
    only those `run_id` reported, when given): the drift, the materiality limit max(floor, share x
    |net before|) and whether it is beyond it (what a run restated, shown with its verdict)."""
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
        f"{settings.check_revenue_drift_max_share:.1%} of the day's accepted net)"
    )


#: Snapshots and acknowledgements of every day, in time order (a restatement's state is read
#: from them: an event's finding stays until restated back or acknowledged). `$skip`: the
#: acknowledgements of one run left out (that run's retry judges the days as its first try did).
TIMELINE = """
    SELECT date, acknowledged_at AS happened_at, net_revenue_ngn AS net, 'ack' AS kind, run_id,
           acknowledged_by, note
    FROM revenue_acknowledgements WHERE run_id <> $skip
    UNION ALL
    SELECT date, reported_at, net_revenue_ngn, 'snapshot', run_id, NULL, NULL
    FROM revenue_snapshots
    ORDER BY date, happened_at, kind DESC"""


def limit_of(net: float, settings: Thresholds) -> float:
    """The materiality limit of a change from `net`."""
    return round(
        max(
            settings.check_revenue_drift_floor_ngn,
            abs(net) * settings.check_revenue_drift_max_share,
        ),
        2,
    )


def drift_states(wh: Warehouse, settings: Thresholds, skip_run: str = "") -> pd.DataFrame:
    """Per reported day: the accepted net (`baseline`), the net now, the drift from it, its limit,
    whether a material restatement is open, and the latest acknowledgement.

    Walking a day's snapshots in order: while nothing is open, a restatement within materiality
    moves the accepted value with it (late data by less is expected); a material one opens the
    day, and it stays open, whatever later snapshots say, until the net comes back within
    materiality of the accepted value (restated back) or an analyst acknowledges it (the value
    at that moment becomes the accepted one)."""
    rows = []
    for day, timeline in wh.query(TIMELINE, {"skip": skip_run}).groupby("date", sort=True):
        baseline = now = None
        ack = ""
        for event in timeline.itertuples():
            if event.kind == "ack":
                baseline = float(event.net)  # the value the analyst accepted
                ack = (
                    f"acknowledged {pd.Timestamp(event.happened_at):%Y-%m-%d %H:%M} UTC"
                    + (f" by {event.acknowledged_by}" if event.acknowledged_by else "")
                    + (f": {event.note}" if event.note else "")
                )
                continue
            net = float(event.net)
            if baseline is None:
                baseline = net
            elif abs(now - baseline) <= limit_of(baseline, settings) and abs(net - now) <= limit_of(
                now, settings
            ):
                baseline = net  # nothing open and this change is immaterial: accepted
            now = net
        drift = round(now - baseline, 2) if now is not None else 0.0
        limit = limit_of(baseline if baseline is not None else 0.0, settings)
        rows.append((as_date(day), baseline, now, drift, limit, abs(drift) > limit, ack))
    return pd.DataFrame(
        rows, columns=["date", "baseline", "now", "drift", "limit", "open", "acknowledged"]
    )


def latest_lines(restated: pd.DataFrame) -> dict[date, str]:
    """Each restated day's latest restatement line (`restatements` lists them oldest first)."""
    return {as_date(d): text for d, text in zip(restated["date"], restated["description"])}


def revenue_drift(i: RuleInputs, start: date, end: date) -> Outcome:
    """Days whose net revenue stands restated beyond materiality from its accepted value (late
    data restates days: expected; every change, material or not, is kept in kpi_restatements),
    whatever the window: a finding stays until restated back or acknowledged."""
    states = drift_states(i.warehouse, i.settings)
    material = states[states["open"].astype(bool)]
    changed = revenue_restatements(i.warehouse, i.settings, i.run_id)  # by this run
    restated = restatements(i.warehouse) if len(material) or len(changed) else None
    latest = latest_lines(restated) if restated is not None else {}
    lines = [
        latest.get(r.date, f"{r.date} restated {r.drift:+,.2f} NGN") for r in material.itertuples()
    ]
    details: dict[str, Any] = {
        "days_changed": {str(r.date.date()): float(r.drift) for r in changed.itertuples()},
        "material_days": {r.date.isoformat(): float(r.drift) for r in material.itertuples()},
        "drift_ngn": round(float(material["drift"].abs().sum()), 2),
        "materiality": materiality(i.settings),
        "acknowledged_days": int((states["acknowledged"] != "").sum()),
    }
    if len(changed):
        mine = restated if i.run_id is None else restated[restated["run_id"] == i.run_id]
        details["restated"] = mine["description"].tolist()
    note = "; ".join(lines[:3]) + (f" and {len(lines) - 3} more day(s)" if len(lines) > 3 else "")
    return Outcome("revenue_drift", material.empty, len(material), 0, WARN, details, note=note)


def revenue_drift_by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    """Each day's drift from its accepted net against its materiality limit (the daily report's
    view): yellow while a material restatement is open, with its acknowledgement when there is one."""
    states = {r.date: r for r in drift_states(i.warehouse, i.settings).itertuples()}
    opened = any(states[d].open for d in days_between(start, end) if d in states)
    latest = latest_lines(restatements(i.warehouse)) if opened else {}
    floor = i.settings.check_revenue_drift_floor_ngn
    out = {}
    for day in days_between(start, end):
        state = states.get(day)
        figure, limit = (float(state.drift), float(state.limit)) if state else (0.0, floor)
        note = latest.get(day, "") if state is not None and state.open else ""
        details = {"materiality": materiality(i.settings)}
        if state is not None and state.acknowledged:
            details["acknowledged"] = state.acknowledged
        out[day] = Outcome(
            "revenue_drift", abs(figure) <= limit, figure, limit, WARN, details, note=note
        )
    return out


ROWS = (
    CheckSpec(
        asset="kpi_daily_revenue",
        name="revenue_drift",
        what="day(s) restated beyond materiality",
        action="read the restatement line: late payments or refunds changed a reported day; tell "
        "whoever used its figure, then acknowledge it (`commercepulse acknowledge DAY --note …` "
        "or, in the UI, the day of the asset revenue_acknowledgements with a note)",
        description="Days whose net revenue stands restated beyond materiality (max of "
        "CHECK_REVENUE_DRIFT_FLOOR_NGN and CHECK_REVENUE_DRIFT_MAX_SHARE of the accepted net) "
        "from the value last accepted: the first report, then each immaterial restatement; a "
        "day stays yellow until restated back or acknowledged (WARN). Every restatement is in "
        "kpi_restatements, every acknowledgement in revenue_acknowledgements.",
        rule=revenue_drift,
        by_day=revenue_drift_by_day,
        windowed=False,
    ),
)
