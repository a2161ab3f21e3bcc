"""Day annotations: an analyst says a day is expected to be unusual (a public holiday, a known
vendor outage, a campaign). The note is shown wherever the day is (its report, the KPI anomaly
check, `commercepulse why`), the day is not flagged as an anomaly, and it leaves the baselines
that judge the days after it (`checks/kpi_anomalies.py`), so one holiday does not distort the
next weeks. One implementation for the CLI (`commercepulse annotate`) and the UI (asset
`day_annotations`)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from commercepulse.errors import InputError
from commercepulse.warehouse.base import Warehouse

#: The scope of a note about every vendor.
ALL = "all"
READ = (
    "SELECT date, scope, note, annotated_by, annotated_at FROM day_annotations "
    "WHERE date >= $start AND date < $end ORDER BY date, scope"
)


def annotation_id(day: date, scope: str) -> str:
    return f"{day.isoformat()}|{scope}"


def annotate(
    wh: Warehouse,
    days: list[date],
    note: str,
    vendor: str = "",
    by: str = "",
    run_id: str = "",
    now: datetime | None = None,
) -> list[str]:
    """Record `note` on each of `days` (for one vendor, or all); a day's earlier note of the same
    scope is replaced. Returns a line per day. InputError when the note is blank."""
    if not note.strip():
        raise InputError("say what is unusual in --note (it is shown beside the day)")
    if not days:
        raise InputError("give at least one day (YYYY-MM-DD)")
    scope = vendor.strip() or ALL
    ids = [annotation_id(d, scope) for d in days]
    frame = pd.DataFrame(
        {
            "annotation_id": ids,
            "date": days,
            "scope": scope,
            "note": note.strip(),
            "annotated_by": by.strip() or None,
            "annotated_at": now or datetime.now(UTC).replace(tzinfo=None),
            "run_id": run_id or f"cli-{uuid.uuid4().hex[:12]}",
        }
    )
    wh.replace_keys([("day_annotations", "annotation_id", ids, frame)])
    who = "every vendor" if scope == ALL else scope
    return [f"{d} annotated ({who}): {note.strip()}" for d in days]


def remove(wh: Warehouse, days: list[date], vendor: str = "") -> int:
    """Remove the notes of `days` (of one vendor, or the all-vendor ones); returns how many were."""
    if not days:
        raise InputError("give at least one day (YYYY-MM-DD)")
    scope = vendor.strip() or ALL
    ids = [annotation_id(d, scope) for d in days]
    notes = read(wh, min(days), max(days) + timedelta(days=1))
    present = sum(annotation_id(d, s) in ids for d, s in zip(notes["date"], notes["scope"]))
    empty = pd.DataFrame(columns=["annotation_id", "date", "scope", "note", "annotated_at"])
    wh.replace_keys([("day_annotations", "annotation_id", ids, empty)])
    return present


def read(wh: Warehouse, start: date = date.min, end: date = date.max) -> pd.DataFrame:
    """The notes of [start, end), day by day (date as datetime.date)."""
    frame = wh.query(READ, {"start": start, "end": end})
    return frame.assign(date=pd.to_datetime(frame["date"]).dt.date)


def by_day(notes: pd.DataFrame) -> dict[date, list[str]]:
    """Each annotated day's notes as shown ('vendor_b: known outage', or the note alone)."""
    out: dict[date, list[str]] = {}
    for row in notes.itertuples():
        out.setdefault(row.date, []).append(
            row.note if row.scope == ALL else f"{row.scope}: {row.note}"
        )
    return out
