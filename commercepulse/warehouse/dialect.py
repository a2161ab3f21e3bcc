"""DuckDB SQL -> BigQuery SQL: one definition per statement, translated by sqlglot.

The statements are written in DuckDB's dialect restricted to constructs BigQuery also has;
sqlglot carries the spelling differences (FILTER-free aggregates, LOGICAL_OR, MIN_BY,
PERCENTILE_CONT, DATE_DIFF argument order, `@name` parameters, UNION DISTINCT...). Two
things sqlglot cannot know are handled here, as a small table of rewrites:
- `INSERT INTO t BY NAME <select>` (DuckDB) becomes an explicit column list;
- `date_diff` in sub-day units is a TIMESTAMP difference (TIMESTAMP_DIFF in BigQuery);
- `hash(a, b, ...)` (a key bucket) is FARM_FINGERPRINT of the values joined by `|`, with the
  sign bit cleared, and UBIGINT is INT64 (DuckDB's hash is unsigned).
"""

from __future__ import annotations

import re
from functools import lru_cache

import sqlglot
from sqlglot import exp

BY_NAME = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)\s+BY\s+NAME\s+(.*)$", re.IGNORECASE | re.DOTALL)
SUB_DAY_UNITS = {"MILLISECOND", "SECOND", "MINUTE", "HOUR", "MICROSECOND"}


class UntranslatableSQL(ValueError):
    """A statement uses something BigQuery has no equivalent for (a bug in the statement)."""


def _timestamp_diffs(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.DateDiff):
        unit = node.args.get("unit")
        name = unit.name.upper() if unit is not None else ""
        if name in SUB_DAY_UNITS:
            return exp.TimestampDiff(this=node.this, expression=node.expression, unit=exp.var(name))
    return node


def _hashes(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and node.name.upper() == "HASH":
        parts: list[exp.Expression] = []
        for arg in node.expressions:
            text = exp.func("COALESCE", exp.cast(arg, "STRING"), exp.Literal.string(""))
            parts += [exp.Literal.string("|"), text] if parts else [text]
        fingerprint = exp.Anonymous(
            this="FARM_FINGERPRINT", expressions=[exp.Anonymous(this="CONCAT", expressions=parts)]
        )
        return exp.paren(exp.BitwiseAnd(this=fingerprint, expression=exp.Literal.number(2**63 - 1)))
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.UBIGINT:
        return exp.DataType.build("BIGINT")  # INT64: the bucket arithmetic of `hash`
    return node


@lru_cache(maxsize=1024)
def to_bigquery(sql: str) -> str:
    """The BigQuery text of one DuckDB statement (cached: statements are constants)."""
    match = BY_NAME.match(sql)
    if match:
        table, select = match.groups()
        names = sqlglot.parse_one(select, read="duckdb").named_selects
        if not names or "*" in names:
            raise UntranslatableSQL(f"INSERT INTO {table} BY NAME needs named select columns")
        sql = f"INSERT INTO {table} ({', '.join(names)}) {select}"
    try:
        tree = sqlglot.parse_one(sql, read="duckdb").transform(_timestamp_diffs).transform(_hashes)
        return tree.sql(dialect="bigquery", unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.SqlglotError as exc:
        raise UntranslatableSQL(f"{exc}\n--- in ---\n{sql}") from exc
