"""Restatements: when late data changes a day that was already reported, what changed and why.

Each KPI refresh snapshots the days whose net revenue is new or changed (`revenue_snapshots`)
together with the payments and refunds behind each snapshot (`revenue_snapshot_events`). A
restatement is one snapshot against the one before it: the delta, and exactly the events that
were added, removed or re-valued between them, with the ingestion day each added event landed.
"""

from __future__ import annotations

import pandas as pd

from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.schema import AUDIT_TABLES

COLUMNS = AUDIT_TABLES["kpi_restatements"].names
MAX_IDS = 5  # event ids quoted in the one-line description (all of them are in `event_ids`)

RESTATED_DAYS = "SELECT date FROM revenue_snapshots GROUP BY date HAVING count(*) > 1"
SNAPSHOTS = f"""
SELECT date, run_id, reported_at, net_revenue_ngn FROM revenue_snapshots
WHERE date IN ({RESTATED_DAYS}) ORDER BY date, reported_at, run_id"""
EVENTS = f"""
SELECT e.date, e.run_id, e.event_id, e.kind, e.amount_ngn, coalesce(p.is_late, r.is_late) AS is_late,
       CAST(coalesce(p.ingested_at, r.ingested_at) AS DATE) AS landed
FROM revenue_snapshot_events e
LEFT JOIN stg_payments p ON e.kind = 'payment' AND p.event_id = e.event_id
LEFT JOIN stg_refunds r ON e.kind = 'refund' AND r.event_id = e.event_id
WHERE e.date IN ({RESTATED_DAYS})"""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _causes(added: pd.DataFrame, removed: pd.DataFrame, revalued: pd.DataFrame) -> str:
    parts = []
    for kind in ("payment", "refund"):
        new = added[added["kind"] == kind]
        late = int(new["is_late"].fillna(False).astype(bool).sum())
        if late:
            parts.append(_plural(late, f"late {kind}"))
        if len(new) - late:
            parts.append(_plural(len(new) - late, f"new {kind}" if late else kind))
        if n := int((removed["kind"] == kind).sum()):
            parts.append(_plural(n, f"removed {kind}"))
        if n := int((revalued["kind"] == kind).sum()):
            parts.append(_plural(n, f"re-valued {kind}"))
    return " and ".join(parts) or "no event change (amounts re-rounded)"


def _describe(day: str, delta: float, ids: list[str], causes: str, landed: list[str]) -> str:
    quoted = ", ".join(ids[:MAX_IDS]) + (
        f" and {len(ids) - MAX_IDS} more" if len(ids) > MAX_IDS else ""
    )
    line = f"{day} net revenue restated {delta:+,.2f} NGN by {causes}"
    if ids:
        line += f", event{'s' if len(ids) > 1 else ''} {quoted}"
    if landed:
        line += f", landed {', '.join(landed)}"
    return line


def restatements(wh: Warehouse) -> pd.DataFrame:
    """Every restatement of a reported day's net revenue, oldest first (rows of `kpi_restatements`)."""
    snaps = wh.query(SNAPSHOTS)
    if snaps.empty:
        return pd.DataFrame(columns=COLUMNS)
    events = wh.query(EVENTS)
    by_snapshot = {
        key: group.set_index("event_id") for key, group in events.groupby(["date", "run_id"])
    }
    empty = events.iloc[0:0].set_index("event_id")
    rows = []
    for day, history in snaps.groupby("date", sort=True):
        history = history.reset_index(drop=True)
        first = history.iloc[0]
        for k in range(1, len(history)):
            before, now = history.iloc[k - 1], history.iloc[k]
            old = by_snapshot.get((day, before["run_id"]), empty)
            new = by_snapshot.get((day, now["run_id"]), empty)
            added = new.loc[new.index.difference(old.index)]
            removed = old.loc[old.index.difference(new.index)]
            common = new.index.intersection(old.index)
            revalued = new.loc[common][
                (new.loc[common, "amount_ngn"] - old.loc[common, "amount_ngn"]).abs() >= 0.005
            ]
            ids = (
                [f"+{i}" for i in sorted(added.index)]
                + [f"-{i}" for i in sorted(removed.index)]
                + [f"~{i}" for i in sorted(revalued.index)]
            )
            landed = sorted({d.date().isoformat() for d in added["landed"].dropna()})
            delta = round(float(now["net_revenue_ngn"]) - float(before["net_revenue_ngn"]), 2)
            iso = pd.Timestamp(day).date().isoformat()
            rows.append(
                {
                    "date": day,
                    "kpi": "net_revenue_ngn",
                    "run_id": now["run_id"],
                    "restated_at": now["reported_at"],
                    "first_reported_ngn": first["net_revenue_ngn"],
                    "first_run_id": first["run_id"],
                    "before_ngn": before["net_revenue_ngn"],
                    "now_ngn": now["net_revenue_ngn"],
                    "delta_ngn": delta,
                    "events_added": len(added),
                    "events_removed": len(removed),
                    "event_ids": ",".join(ids),
                    "landed_days": ",".join(landed),
                    "description": _describe(
                        iso,
                        delta,
                        [i.lstrip("+-~") for i in ids],
                        _causes(added, removed, revalued),
                        landed,
                    ),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)
