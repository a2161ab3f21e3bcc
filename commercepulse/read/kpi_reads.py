"""`commercepulse kpi NAME`: a KPI's rows from the published figures, by day range and vendor;
as the platform showed them at any moment (`kpi_history`), and what changed between two.

Statements are built from the KPI's table spec (its day column, its vendor column, its key for
the order) and every value is a query parameter."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta

import orjson

from commercepulse.errors import InputError
from commercepulse.warehouse.kpi_history import day_column
from commercepulse.warehouse.schema import KPIS, Table

#: The newest version of each row of a KPI published by $as_of (removed rows left out).
AS_OF = """
SELECT row_key, row_values FROM (
  SELECT row_key, date, vendor, removed, row_values,
         row_number() OVER (PARTITION BY row_key ORDER BY published_at DESC, run_id DESC) AS n
  FROM kpi_history WHERE kpi = $kpi AND published_at <= $as_of{filters}
) WHERE n = 1 AND NOT removed ORDER BY date, vendor, length(row_key), row_key"""
FIRST_PUBLISHED = "SELECT min(published_at) AS first FROM kpi_history WHERE kpi = $kpi"


def _table(name: str) -> Table:
    if name not in KPIS:
        raise InputError(f"no KPI {name!r}; the KPIs: {', '.join(sorted(KPIS))}")
    return KPIS[name]


def _filters(
    name: str, start: date | None, end: date | None, vendor: str | None, day: str | None
) -> tuple[list[str], dict]:
    """The WHERE clauses (on column `day` and `vendor`) and their parameters."""
    table = _table(name)
    where, params = [], {}
    if (start or end) and day_column(table) is None:
        raise InputError(f"{name} has no day column: --from/--to do not apply to it")
    if start:
        where.append(f"{day} >= $start")
        params["start"] = start
    if end:
        where.append(f"{day} <= $end")
        params["end"] = end
    if vendor:
        if "vendor" not in table.names:
            per_vendor = sorted(n for n, t in KPIS.items() if "vendor" in t.names)
            raise InputError(
                f"{name} is not per vendor (--vendor does not apply); per vendor: "
                + ", ".join(per_vendor)
            )
        where.append("vendor = $vendor")
        params["vendor"] = vendor
    return where, params


def kpi_sql(
    name: str, start: date | None, end: date | None, vendor: str | None
) -> tuple[str, dict]:
    """The statement (DuckDB dialect) reading KPI `name` for days [start, end] (inclusive) and
    one vendor, ordered by its key; InputError for a KPI or filter that does not exist."""
    table = _table(name)
    where, params = _filters(name, start, end, vendor, day_column(table))
    sql = f"SELECT * FROM {name}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " ORDER BY " + ", ".join(table.key), params


def as_of_sql(
    name: str, moment: datetime, start: date | None, end: date | None, vendor: str | None
) -> tuple[str, dict]:
    """The statement reading KPI `name`'s rows as published at `moment` (from `kpi_history`:
    its `date` column is the row's day, whatever the KPI calls it)."""
    where, params = _filters(name, start, end, vendor, "date")
    filters = "".join(f" AND {clause}" for clause in where)
    return AS_OF.format(filters=filters), params | {"kpi": name, "as_of": moment}


def versions_as_rows(name: str, batches: Iterator[Sequence[tuple]]) -> Iterator[list[tuple]]:
    """(row_key, row_values JSON) batches as the KPI's own rows, columns in its order."""
    names = KPIS[name].names
    for batch in batches:
        yield [tuple(orjson.loads(text).get(n) for n in names) for _, text in batch]


def state(name: str, batches: Iterator[Sequence[tuple]]) -> dict[str, dict]:
    """{row key: values} of a KPI as published at a moment (the rows of `as_of_sql`)."""
    return {key: orjson.loads(text) for batch in batches for key, text in batch}


DIFF_COLUMNS = ("change", "column", "before", "after")


def differences(name: str, before: dict[str, dict], after: dict[str, dict]) -> list[tuple]:
    """What changed between two states of a KPI: per row key (its key columns first), a row
    `added` or `removed` (whole rows as JSON), or one `changed` line per column whose value
    differs."""
    table = KPIS[name]
    out = []
    for key in sorted(set(before) | set(after), key=lambda k: (len(k), k)):
        old, new = before.get(key), after.get(key)
        keys = tuple((new or old).get(k) for k in table.key)
        if old is None:
            out.append((*keys, "added", "*", None, orjson.dumps(new).decode()))
        elif new is None:
            out.append((*keys, "removed", "*", orjson.dumps(old).decode(), None))
        else:
            out += [
                (*keys, "changed", column, old.get(column), new.get(column))
                for column in table.names
                if old.get(column) != new.get(column)
            ]
    return out


def parse_day(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{option} must be a day YYYY-MM-DD, got {text!r}") from exc


def parse_moment(text: str | None, option: str) -> datetime | None:
    """A moment: an ISO time (naive = UTC), or a bare day = the end of that UTC day."""
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1), time(), UTC) - timedelta(
                microseconds=1
            )
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(
            f"{option} must be a time (2025-01-15T18:00:00Z; naive = UTC) or a day, got {text!r}"
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
