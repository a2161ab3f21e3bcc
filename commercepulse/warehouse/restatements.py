"""Restatements: when late data changes a day that was already reported, what changed and why.

Every KPI: each version of a row in `kpi_history` against the one before it, one restatement per
numeric column that changed, with what landed for the row's day in between (`kpi_restatements`
via `all_restatements`). Net revenue in more detail:

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
    """Every restatement of a reported day's net revenue, oldest first (rows of `kpi_restatements`,
    with `before_at`: when the value it replaced was reported)."""
    snaps = wh.query(SNAPSHOTS)
    if snaps.empty:
        return pd.DataFrame(columns=[*COLUMNS, "before_at"])
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
                    "kpi": "kpi_daily_revenue",
                    "row_key": iso,
                    "column_name": "net_revenue_ngn",
                    "first_value": first["net_revenue_ngn"],
                    "before_value": before["net_revenue_ngn"],
                    "now_value": now["net_revenue_ngn"],
                    "delta": delta,
                    "before_at": before["reported_at"],
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
    return pd.DataFrame(rows, columns=[*COLUMNS, "before_at"])


#: Columns that are not figures: a change of finality is not a restatement of a value.
NOT_FIGURES = {"is_final"}


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def figure_restatements(wh: Warehouse) -> pd.DataFrame:
    """Every change of a published numeric KPI value (kpi_history, each version against the one
    before it), except net revenue (`restatements` has it, with its events). A KPI without a day
    (the top-products ranking, the vendors' lateness) changes as history grows: its versions are
    in kpi_history, but there is no published day to restate."""
    from commercepulse.warehouse.kpi_history import same_values, version_pairs

    first: dict[tuple[str, str], dict] = {}
    rows = []
    for kpi, key, day, vendor, before, before_at, now, published, run in version_pairs(wh):
        if before is not None:
            first.setdefault((kpi, key), before)
        if before is None or now is None:
            continue
        for column, value in now.items():
            was = before.get(column)
            if (
                column in NOT_FIGURES
                or (kpi, column) == ("kpi_daily_revenue", "net_revenue_ngn")
                or _number(value) is None
                or same_values({column: was}, {column: value})
            ):
                continue
            rows.append(
                {
                    "date": day,
                    "kpi": kpi,
                    "vendor": vendor,
                    "row_key": key,
                    "column_name": column,
                    "run_id": run,
                    "restated_at": published,
                    "first_value": _number(first.get((kpi, key), {}).get(column)),
                    "before_value": _number(was),
                    "now_value": _number(value),
                    "delta": None if _number(was) is None else _number(value) - _number(was),
                    "before_at": before_at,
                }
            )
    return pd.DataFrame(rows, columns=[*COLUMNS, "before_at"])


def landing_causes(frame: pd.DataFrame, landings: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Per restatement: what landed for its day between the value it replaced and its own
    (`landings`: landed_at, kind, partition, touched: the business days), in words, and those landings'
    ingestion days."""
    records = [
        (pd.Timestamp(r.landed_at), r.kind, r.partition, set(r.touched))
        for r in landings.itertuples(index=False)
    ]
    earliest = pd.Timestamp.min.tz_localize("UTC")
    causes, days = [], []
    for row in frame.itertuples(index=False):
        day = str(pd.Timestamp(row.date).date()) if pd.notna(row.date) else None
        since = pd.Timestamp(row.before_at) if pd.notna(row.before_at) else earliest
        until = pd.Timestamp(row.restated_at)
        hits = [
            (kind, partition)
            for landed_at, kind, partition, touched in records
            if since < landed_at <= until and (day is None or day in touched)
        ]
        words = sorted({f"{kind} {partition}" for kind, partition in hits})
        causes.append("; ".join(words))
        days.append(",".join(sorted({p for _, p in hits if p[:1].isdigit()})))
    return causes, days


def all_restatements(wh: Warehouse, landings: pd.DataFrame) -> pd.DataFrame:
    """The rows of `kpi_restatements`: net revenue's (with its events) and every other KPI
    value's, each with its cause (`landings`: the landing records, from the Dagster instance)."""
    revenue = restatements(wh)
    figures = figure_restatements(wh)
    out = (
        pd.concat([f for f in (revenue, figures) if len(f)], ignore_index=True)
        if len(revenue) or len(figures)
        else revenue
    )
    if out.empty:
        return out.drop(columns=["before_at"])
    causes, days = landing_causes(out, landings)
    out["cause"] = causes
    out["landed_days"] = out["landed_days"].where(
        out["landed_days"].notna() & (out["landed_days"] != ""), pd.Series(days, index=out.index)
    )
    generic = out["description"].isna()
    out["description"] = out["description"].astype(object)  # all-null columns arrive as float64
    out.loc[generic, "description"] = [
        f"{pd.Timestamp(r.date).date()} {r.kpi}"
        + (f" {r.vendor}" if isinstance(r.vendor, str) and r.vendor else "")
        + f" {r.column_name} restated {r.before_value:,.6g} → {r.now_value:,.6g}"
        + f" ({r.cause or 'recomputed; no landing recorded for this day in between'})"
        for r in out[generic].itertuples()
    ]
    # net revenue's line names its events already; the landing is added when one is recorded
    out.loc[~generic, "description"] = [
        f"{d} ({c})" if c else d
        for d, c in zip(out.loc[~generic, "description"], out.loc[~generic, "cause"], strict=True)
    ]
    return out.sort_values(["restated_at", "kpi", "row_key", "column_name"]).drop(
        columns=["before_at"]
    )[COLUMNS]
