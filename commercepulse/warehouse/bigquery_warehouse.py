"""The BigQuery warehouse (production): tables created through the API from the table specs
(explicit schema, DAY partitioning on the business date, clustering), statements translated
from the one SQL definition, every value a typed query parameter, multi-table writes as
one multi-statement transaction.

Frames reach BigQuery through load jobs into scratch tables, then one transaction deletes the
window (or keys) and inserts from the scratch tables, so readers never see half a window.
Partition windows are compared as DATE parameters against DATE columns (never timestamp
literals: dagster-io/dagster#13147).
"""

from __future__ import annotations

import numbers
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from google.cloud import bigquery

from commercepulse.errors import ServiceUnreachableError, service_message
from commercepulse.lib.money import KOBO_SCALE, SENT_SCALE, as_decimals
from commercepulse.warehouse.base import Statement, Warehouse
from commercepulse.warehouse.dialect import to_bigquery
from commercepulse.warehouse.frames import conform
from commercepulse.warehouse.schema import ALL_TABLES, DROPPED_COLUMNS, Table

BQ_TYPES = {
    "STRING": "STRING",
    "INT64": "INT64",
    "FLOAT64": "FLOAT64",
    "MONEY": "NUMERIC",
    "DECIMAL6": "NUMERIC",
    "BOOL": "BOOL",
    "TIMESTAMP": "TIMESTAMP",
    "DATE": "DATE",
}
#: Digits after the point of each exact type (BigQuery's NUMERIC holds 9).
EXACT_SCALES = {"MONEY": KOBO_SCALE, "DECIMAL6": SENT_SCALE}
EXACT_RESULT_TYPES = ("NUMERIC", "BIGNUMERIC", "DECIMAL", "BIGDECIMAL")
SCRATCH_TTL = timedelta(hours=6)  # scratch tables expire even if a run dies before dropping them
_INITIALISED: set[tuple[str, str]] = set()
_LOCK = threading.Lock()


def schema(table: Table) -> list[bigquery.SchemaField]:
    return [
        bigquery.SchemaField(
            c.name,
            BQ_TYPES[c.type],
            mode="NULLABLE" if c.nullable else "REQUIRED",
            description=c.description or None,
        )
        for c in table.columns
    ]


def table_definition(table: Table, dataset: str) -> bigquery.Table:
    """The BigQuery table for a spec: schema, DAY partitioning on its date, clustering."""
    definition = bigquery.Table(f"{dataset}.{table.name}", schema=schema(table))
    definition.description = table.description
    if table.time_partition:
        definition.time_partitioning = bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.DAY, field=table.time_partition
        )
    if table.cluster:
        definition.clustering_fields = list(table.cluster)
    return definition


def migration(existing: bigquery.Table, table: Table) -> str | None:
    """The table re-created as this version has it, when a dataset of an earlier version holds
    money as FLOAT64 (BigQuery cannot retype FLOAT64 in place) or a column since removed
    (`DROPPED_COLUMNS`: personal data). One statement: the copy and the swap are atomic,
    partitioning and clustering kept; each double is rounded to its scale first, the value it
    stood for."""
    exact = {c.name: EXACT_SCALES[c.type] for c in table.columns if c.type in EXACT_SCALES}
    floats = [
        f.name for f in existing.schema if f.field_type in ("FLOAT", "FLOAT64") and f.name in exact
    ]
    present = {f.name for f in existing.schema}
    dropped = [c for t, c in DROPPED_COLUMNS if t == table.name and c in present]
    if not floats and not dropped:
        return None
    casts = ", ".join(f"CAST(ROUND({name}, {exact[name]}) AS NUMERIC) AS {name}" for name in floats)
    select = "SELECT *" + (f" EXCEPT ({', '.join(dropped)})" if dropped else "")
    select += f" REPLACE ({casts})" if floats else ""
    where = f"`{existing.project}.{existing.dataset_id}.{existing.table_id}`"
    partition = ""
    if table.time_partition:
        kind = table.col(table.time_partition).type
        column = table.time_partition
        partition = f" PARTITION BY {column if kind == 'DATE' else f'DATE({column})'}"
    cluster = f" CLUSTER BY {', '.join(table.cluster)}" if table.cluster else ""
    return f"CREATE OR REPLACE TABLE {where}{partition}{cluster} AS {select} FROM {where}"


def query_parameter(name: str, value: Any):
    """A typed parameter; DATE stays DATE (a partition filter compares DATE with DATE)."""
    if isinstance(value, (list, tuple)):
        return bigquery.ArrayQueryParameter(name, "STRING", [str(v) for v in value])
    if isinstance(value, (bool, np.bool_)):
        kind, value = "BOOL", bool(value)
    elif isinstance(value, numbers.Integral):
        kind, value = "INT64", int(value)
    elif isinstance(value, numbers.Real):
        kind, value = "FLOAT64", float(value)
    elif isinstance(value, datetime):  # naive = UTC, like everywhere else
        stamp = pd.Timestamp(value)
        kind, value = (
            "TIMESTAMP",
            (
                stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
            ).to_pydatetime(),
        )
    elif isinstance(value, date):
        kind = "DATE"
    else:
        kind, value = "STRING", None if value is None else str(value)
    return bigquery.ScalarQueryParameter(name, kind, value)


def parameters(sql: str, params: Mapping[str, Any]) -> list:
    """Only the parameters the BigQuery text references."""
    return [query_parameter(k, v) for k, v in params.items() if f"@{k}" in sql]


def for_load(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """A frame with exactly the table's columns, DATE columns as dates and exact columns as
    decimals of their scale (what a load job expects)."""
    frame = conform(frame, table)
    for col in table.columns:
        if col.type in EXACT_SCALES:
            frame[col.name] = as_decimals(frame[col.name].to_numpy(), EXACT_SCALES[col.type])
        elif col.type == "DATE":
            values = pd.to_datetime(frame[col.name])
            frame[col.name] = values.dt.date.astype(object).where(values.notna(), None)
    return frame


def from_result(frame: pd.DataFrame, exact: set[str] = frozenset()) -> pd.DataFrame:
    """BigQuery result dtypes -> the ones DuckDB returns (dates as datetime64, not dbdate; the
    `exact` (NUMERIC) columns as float64, each value the double nearest its decimal, as DuckDB
    reads a DECIMAL)."""
    for name, dtype in frame.dtypes.items():
        if str(dtype) == "dbdate":
            frame[name] = pd.to_datetime(frame[name].astype("object")).astype("datetime64[ns]")
        elif name in exact:  # all-null included (object dtype either way)
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return frame


ClientFactory = Callable[[], AbstractContextManager[bigquery.Client]]


class BigQueryWarehouse(Warehouse):
    """A BigQuery dataset. `connect` opens a client: in Dagster it is dagster-gcp's
    `BigQueryResource.get_client` (ADC or GOOGLE_APPLICATION_CREDENTIALS; see defs/resources.py)."""

    project: str
    dataset: str
    location: str = "US"
    connect: ClientFactory | None = None

    @property
    def dataset_id(self) -> str:
        return f"{self.project}.{self.dataset}"

    def readers_location(self) -> str:
        return f"BigQuery dataset {self.dataset_id}"

    def statement_events(self) -> int:
        """No limit: a window's statements run as one script with one set of parameters, so
        sub-windows (each its own `@start`/`@end`) cannot share it, and BigQuery's memory is not
        this process's. A window too big for one job is split into runs (multi-run backfill)."""
        return 2**62

    @contextmanager
    def client(self) -> Iterator[bigquery.Client]:
        with (self.connect or self._default_client)() as client:
            try:
                self._ensure_tables(client)
                yield client
            except Exception as exc:  # credentials, access, an unreachable service: one line
                line = service_message(exc)
                if line is None:
                    raise
                raise ServiceUnreachableError(line) from exc

    @contextmanager
    def _default_client(self) -> Iterator[bigquery.Client]:
        client = bigquery.Client(project=self.project, location=self.location)
        try:
            yield client
        finally:
            client.close()

    def _ensure_tables(self, client: bigquery.Client) -> None:
        """Dataset and every table, created idempotently before first use (once per process)."""
        key = (client.project, self.dataset)
        with _LOCK:
            if key in _INITIALISED:
                return
            dataset = bigquery.Dataset(self.dataset_id)
            dataset.location = self.location
            client.create_dataset(dataset, exists_ok=True)
            for table in ALL_TABLES.values():
                existing = client.create_table(
                    table_definition(table, self.dataset_id), exists_ok=True
                )
                known = {field.name for field in existing.schema}
                added = [field for field in schema(table) if field.name not in known]
                if added:  # a dataset written by an earlier version: columns added since
                    existing.schema = [*existing.schema, *added]
                    existing = client.update_table(existing, ["schema"])
                rebuild = migration(existing, table)
                if rebuild:
                    client.query(rebuild).result()
                    retyped = client.get_table(existing.reference)
                    described = {c.name: c.description or None for c in table.columns}
                    retyped.schema = [
                        bigquery.SchemaField(
                            f.name, f.field_type, mode=f.mode, description=described.get(f.name)
                        )
                        for f in retyped.schema
                    ]
                    client.update_table(retyped, ["schema"])
            _INITIALISED.add(key)

    def _job_config(self, sql: str, params: Mapping[str, Any]) -> bigquery.QueryJobConfig:
        return bigquery.QueryJobConfig(
            default_dataset=self.dataset_id,
            query_parameters=parameters(sql, params),
            use_legacy_sql=False,
        )

    def _run(self, client: bigquery.Client, sql: str, params: Mapping[str, Any]):
        # query(...).result(): raises on errors reported in the job body
        return client.query(sql, job_config=self._job_config(sql, params)).result()

    def _script(
        self, client: bigquery.Client, statements: Sequence[str], params: Mapping[str, Any]
    ) -> None:
        """Statements (BigQuery text) as one transaction; one statement runs as itself."""
        if not statements:
            return
        sql = (
            statements[0]
            if len(statements) == 1
            else "BEGIN TRANSACTION;\n" + ";\n".join(statements) + ";\nCOMMIT TRANSACTION;"
        )
        self._run(client, sql, params)

    # -- the Warehouse interface ----------------------------------------------------------
    def execute(self, statements: Sequence[Statement]) -> None:
        params: dict[str, Any] = {}
        texts = []
        for sql, values in statements:
            text = to_bigquery(sql)
            texts.append(text)
            for name, value in values.items():
                if f"@{name}" in text and params.setdefault(name, value) != value:
                    raise ValueError(
                        f"one script shares its parameters: @{name} cannot be both "
                        f"{params[name]!r} and {value!r} (run the statements separately)"
                    )
        with self.client() as client:
            self._script(client, texts, params)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        text = to_bigquery(sql)
        with self.client() as client:
            rows = self._run(client, text, dict(params or {}))
            exact = {f.name for f in rows.schema or () if f.field_type in EXACT_RESULT_TYPES}
            return from_result(rows.to_dataframe(create_bqstorage_client=False), exact)

    @contextmanager
    def _scratch(self, client: bigquery.Client) -> Iterator[Callable[[str, pd.DataFrame], str]]:
        """load(name, frame) -> a scratch table holding the frame (appended per call); dropped after."""
        token = uuid.uuid4().hex[:12]
        made: dict[str, str] = {}

        def load(name: str, frame: pd.DataFrame) -> str:
            table = ALL_TABLES[name]
            target = made.get(name)
            if target is None:
                target = made[name] = f"{self.dataset_id}._scratch_{name}_{token}"
                scratch = bigquery.Table(target, schema=schema(table))
                scratch.expires = datetime.now(UTC) + SCRATCH_TTL
                client.create_table(scratch)
            if len(frame):
                config = bigquery.LoadJobConfig(
                    schema=schema(table), write_disposition="WRITE_APPEND"
                )
                client.load_table_from_dataframe(
                    for_load(frame, table), target, job_config=config
                ).result()
            return target

        try:
            yield load
        finally:
            for target in made.values():
                client.delete_table(target, not_found_ok=True)

    @staticmethod
    def _insert_from(name: str, scratch: str) -> str:
        cols = ", ".join(ALL_TABLES[name].names)
        return f"INSERT INTO {name} ({cols}) SELECT {cols} FROM `{scratch}`"

    @contextmanager
    def partition_writer(self, names: Sequence[str], start: date, end: date) -> Iterator[Callable]:
        with self.client() as client, self._scratch(client) as load:
            loaded: dict[str, str] = {}

            def write(frames: Mapping[str, pd.DataFrame]) -> None:
                for name, frame in frames.items():
                    if len(frame):
                        loaded[name] = load(name, frame)

            yield write
            statements = []
            for name in names:
                col = ALL_TABLES[name].partition_col
                statements.append(f"DELETE FROM {name} WHERE {col} >= @start AND {col} < @end")
                if name in loaded:
                    statements.append(self._insert_from(name, loaded[name]))
            self._script(client, statements, {"start": start, "end": end})

    def delete_days_except(
        self, names: Sequence[str], start: date, end: date, keep: Sequence[str]
    ) -> None:
        statements = [
            f"DELETE FROM {name} WHERE {ALL_TABLES[name].partition_col} >= @start "
            f"AND {ALL_TABLES[name].partition_col} < @end "
            f"AND CAST({ALL_TABLES[name].partition_col} AS STRING) NOT IN UNNEST(@keep)"
            for name in names
        ]
        with self.client() as client:
            self._script(client, statements, {"start": start, "end": end, "keep": list(keep)})

    def replace_keys(self, batches: Sequence[tuple[str, str, Sequence[str], pd.DataFrame]]) -> None:
        statements, params = [], {}
        with self.client() as client, self._scratch(client) as load:
            for n, (name, column, keys, frame) in enumerate(batches):
                params[f"keys{n}"] = list(keys)
                statements.append(f"DELETE FROM {name} WHERE {column} IN UNNEST(@keys{n})")
                if len(frame):
                    statements.append(self._insert_from(name, load(name, frame)))
            self._script(client, statements, params)

    def replace_table(self, name: str, frame: pd.DataFrame) -> None:
        with self.client() as client, self._scratch(client) as load:
            statements = [f"DELETE FROM {name} WHERE TRUE"]
            if len(frame):
                statements.append(self._insert_from(name, load(name, frame)))
            self._script(client, statements, {})
