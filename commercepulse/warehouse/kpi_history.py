"""Every KPI as of any moment: an append-only history of each KPI row as published.

When a KPI table is recomputed, its rows are compared with the newest recorded version of each
row (by the KPI's key): a row that is new, has any value changed or is gone gets a version in
`kpi_history` (its values as JSON, when, by which run). Nothing is ever updated or deleted
there, except the versions a retried run recorded itself (replaced, so a retry records once).
Floats are compared within a trillionth of their size (`same_values`), so the last bits of a
sum that a re-run adds in another order never make a version of their own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import date, datetime

import orjson
import pandas as pd

from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.schema import AUDIT_TABLES, KPIS, Table

HISTORY = "kpi_history"
COLUMNS = AUDIT_TABLES[HISTORY].names


def day_column(table: Table) -> str | None:
    """The day a KPI row is about: the first DATE column of its key (a business or ingestion
    day, a cohort month); None for a ranking or a per-vendor summary."""
    return next((k for k in table.key if table.col(k).type == "DATE"), None)


#: The newest version of each row of one KPI (optionally of days [start, end)).
NEWEST = """
SELECT row_key, removed, row_values FROM (
  SELECT row_key, removed, row_values,
         row_number() OVER (PARTITION BY row_key ORDER BY published_at DESC, run_id DESC) AS n
  FROM kpi_history WHERE kpi = $kpi {window}
) WHERE n = 1"""
WINDOW = "AND date >= $start AND date < $end"


def _plain(value):
    """A value as JSON holds it: None for missing, days and times as ISO text."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return (
            value.isoformat()
            if value.tz is not None or value.time() != datetime.min.time()
            else str(value.date())
        )
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


def encoded_rows(table: Table, frame: pd.DataFrame) -> Iterator[tuple[str, dict, str]]:
    """(row key, plain values, JSON) for each row of a KPI frame."""
    names = table.names
    for record in frame[names].itertuples(index=False, name=None):
        values = {n: _plain(v) for n, v in zip(names, record, strict=True)}
        key = "|".join("" if values[k] is None else str(values[k]) for k in table.key)
        yield key, values, orjson.dumps(values).decode()


def same_values(old: dict, new: dict) -> bool:
    """Equal, floats within 1e-7 or a trillionth of their size: the last bits a re-run's sum
    adds in another order are not a change, a kobo on a billion naira is."""
    if old.keys() != new.keys():
        return False
    for name, value in new.items():
        was = old[name]
        if isinstance(value, float) and isinstance(was, (int, float)):
            if not math.isclose(value, was, rel_tol=1e-12, abs_tol=1e-7):
                return False
        elif was != value:
            return False
    return True


def changes(
    table: Table, current: pd.DataFrame, newest: pd.DataFrame
) -> list[tuple[str, dict | None, str | None]]:
    """(row key, values, JSON) of each row that is new or changed, and (key, None, None) of each
    row the newest versions hold that `current` no longer has."""
    before = {
        key: text for key, removed, text in newest.itertuples(index=False, name=None) if not removed
    }
    out: list[tuple[str, dict | None, str | None]] = []
    seen = set()
    for key, values, text in encoded_rows(table, current):
        seen.add(key)
        old = before.get(key)
        if old != text and (old is None or not same_values(orjson.loads(old), values)):
            out.append((key, values, text))
    out += [(key, None, None) for key in sorted(set(before) - seen)]
    return out


def record_versions(
    warehouse: Warehouse,
    name: str,
    run_id: str,
    published_at: datetime,
    window: tuple[date, date] | None = None,
) -> int:
    """Append the versions of KPI `name`'s rows that changed since the newest recorded (only
    days [start, end) of `window` for a KPI written a window at a time); returns how many."""
    table = KPIS[name]
    day = day_column(table)
    params: dict = {}
    where = ""
    if window is not None and day is not None:
        params = {"start": window[0], "end": window[1]}
        where = f" WHERE {day} >= $start AND {day} < $end"
    current = warehouse.query(f"SELECT * FROM {name}{where}", params)
    newest = warehouse.query(NEWEST.format(window=WINDOW if where else ""), params | {"kpi": name})
    found = changes(table, current, newest)
    frame = versions_frame(table, name, run_id, published_at, found)
    if len(frame):
        warehouse.replace_keys([(HISTORY, "version_id", list(frame["version_id"]), frame)])
    return len(frame)


def versions_frame(
    table: Table,
    name: str,
    run_id: str,
    published_at: datetime,
    found: Iterable[tuple[str, dict | None, str | None]],
) -> pd.DataFrame:
    """The `kpi_history` rows of these changes (a removed row keeps its key's day and vendor)."""
    day = day_column(table)
    rows = []
    for key, values, text in found:
        parts = dict(zip(table.key, key.split("|"), strict=False))
        rows.append(
            {
                "kpi": name,
                "row_key": key,
                "date": (values or parts).get(day) if day else None,
                "vendor": (values or parts).get("vendor"),
                "published_at": published_at,
                "run_id": run_id,
                "removed": values is None,
                "row_values": text,
                "version_id": f"{run_id}:{name}:{key}",
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["date"] = pd.to_datetime(frame["date"])
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    return frame


#: Every version of the rows that have more than one (a single version restates nothing), in
#: order; `{where}`: extra conditions on kpi_history `h` (constants of the code).
RESTATED_ROWS = """
WITH multi AS (SELECT kpi, row_key FROM kpi_history h WHERE h.date IS NOT NULL{where}
               GROUP BY kpi, row_key HAVING count(*) > 1)
SELECT h.kpi, h.row_key, h.date, h.vendor, h.published_at, h.run_id, h.removed, h.row_values
FROM kpi_history h JOIN multi m ON m.kpi = h.kpi AND m.row_key = h.row_key
WHERE h.date IS NOT NULL{where}
ORDER BY h.kpi, h.row_key, h.published_at, h.run_id"""


def version_pairs(
    warehouse: Warehouse, where: str = "", params: dict | None = None
) -> Iterator[tuple]:
    """Each version of a dated KPI row against the one before it: (kpi, row_key, date, vendor,
    values before (None: removed), published before, values now (None: removed), published
    now, run now). Only rows with several versions are read, and plain tuples are walked: the
    refresh reads the whole history each time."""
    frame = warehouse.query(RESTATED_ROWS.format(where=where), params or {})
    previous = None
    for kpi, key, day, vendor, published, run, removed, text in frame.itertuples(
        index=False, name=None
    ):
        values = None if removed else orjson.loads(text)
        if previous is not None and previous[0] == (kpi, key):
            _, before, before_at = previous
            yield kpi, key, day, vendor, before, before_at, values, published, run
        previous = ((kpi, key), values, published)
