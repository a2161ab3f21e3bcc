"""Readers of the published figures: the newest read snapshot (DuckDB) or the dataset (BigQuery).

Only reading statements run: a write, an ATTACH, a COPY, a SET or several statements at once are
refused before anything runs (one line, exit 2 at the CLI), and the DuckDB snapshot is opened
read-only with file access disabled, so even a function that reads or writes files is refused.
Rows come back in batches (`rows`), so a big result never sits in memory whole."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commercepulse.errors import InputError

#: Rows fetched at a time.
BATCH_ROWS = 10_000


@dataclass
class Result:
    """A statement's columns and its rows, batch by batch (each a list of tuples)."""

    columns: list[str]
    batches: Iterator[Sequence[tuple]]


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class SnapshotReader:
    """The newest read snapshot: a DuckDB file opened read-only, no file access."""

    def __init__(self, path: Path):
        import duckdb

        if not path.exists():
            raise InputError(
                f"no read snapshot yet at {path}: one is published after each refresh "
                "(`make run`, or the refresh `make ui` runs after new data)"
            )
        self.path = path
        self._duckdb = duckdb
        self.con = duckdb.connect(
            str(path), read_only=True, config={"enable_external_access": False}
        )

    def close(self) -> None:
        self.con.close()

    def check(self, sql: str) -> None:
        """One reading statement (SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE, PRAGMA of a
        table, EXPLAIN), else InputError naming what was refused."""
        try:
            statements = self.con.extract_statements(sql)
        except self._duckdb.Error as exc:
            raise InputError(_first_line(exc)) from exc
        if len(statements) != 1:
            raise InputError(f"one statement at a time, got {len(statements)}")
        kind = statements[0].type.name
        if kind not in ("SELECT", "EXPLAIN"):
            raise InputError(
                f"only reading statements run on the published figures, and this one is {kind} "
                "(the snapshot is read-only: the platform's runs write the warehouse)"
            )

    def native(self, sql: str) -> str:
        """The platform's SQL (DuckDB dialect) as this engine runs it."""
        return sql

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        self.check(sql)
        try:
            cursor = self.con.execute(sql, dict(params or {}))
        except self._duckdb.Error as exc:
            raise InputError(_first_line(exc)) from exc
        columns = [d[0] for d in cursor.description or []]

        def batches() -> Iterator[Sequence[tuple]]:
            while True:
                try:
                    chunk = cursor.fetchmany(BATCH_ROWS)
                except self._duckdb.Error as exc:  # a value that fails mid-way (a bad cast)
                    raise InputError(_first_line(exc)) from exc
                if not chunk:
                    return
                yield chunk

        return Result(columns, batches())

    def columns(self, table: str) -> list[str]:
        """The columns of a table as this snapshot has them."""
        found = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $t "
            "ORDER BY ordinal_position",
            {"t": table},
        ).fetchall()
        return [name for (name,) in found]


#: A reading statement on BigQuery: what it starts with, after comments and brackets.
_READS = re.compile(r"^\s*(?:(?:--[^\n]*\n|/\*.*?\*/|\()\s*)*(SELECT|WITH)\b", re.I | re.S)


class BigQueryReader:
    """The BigQuery dataset (it serves any number of readers itself); unqualified table names
    are the dataset's."""

    def __init__(self, warehouse):
        self.warehouse = warehouse
        self._stack = None

    def close(self) -> None:
        if self._stack is not None:
            self._stack.__exit__(None, None, None)

    def _client(self):
        if self._stack is None:
            self._stack = self.warehouse.client()
            self._bq = self._stack.__enter__()
        return self._bq

    def check(self, sql: str) -> None:
        if not _READS.match(sql) or ";" in sql.strip().rstrip(";"):
            raise InputError(
                "only one reading statement (SELECT or WITH …) runs on the published figures"
            )

    def native(self, sql: str) -> str:
        from commercepulse.warehouse.dialect import to_bigquery

        return to_bigquery(sql)

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        """`sql` in BigQuery's dialect (an analyst's, or `native` of the platform's)."""
        from google.cloud import bigquery

        from commercepulse.warehouse.bigquery_warehouse import parameters

        self.check(sql)
        text = sql
        config = bigquery.QueryJobConfig(
            default_dataset=self.warehouse.dataset_id,
            query_parameters=parameters(text, dict(params or {})),
        )
        try:
            result = self._client().query(text, job_config=config).result(page_size=BATCH_ROWS)
        except Exception as exc:  # noqa: BLE001 - BigQuery's errors (bad SQL, unknown table) are the user's
            raise InputError(_first_line(exc)) from exc
        columns = [field.name for field in result.schema]

        def batches() -> Iterator[Sequence[tuple]]:
            for page in result.pages:
                yield [tuple(row.values()) for row in page]

        return Result(columns, batches())

    def columns(self, table: str) -> list[str]:
        from commercepulse.warehouse.schema import ALL_TABLES

        return ALL_TABLES[table].names


@contextmanager
def open_reader(warehouse) -> Iterator[SnapshotReader | BigQueryReader]:
    """The reader of a warehouse's published figures: the newest snapshot of a DuckDB warehouse
    (opened once: a refresh that publishes meanwhile does not change what this reader sees), or
    a BigQuery dataset."""
    from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse

    reader = (
        SnapshotReader(Path(warehouse.readers_location()))
        if isinstance(warehouse, DuckDBWarehouse)
        else BigQueryReader(warehouse)
    )
    try:
        yield reader
    finally:
        reader.close()
