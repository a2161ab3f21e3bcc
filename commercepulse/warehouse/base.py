"""What every warehouse engine offers the assets, checks and reports (DuckDB, BigQuery).

Assets take a `Warehouse` and never branch on the engine: `defs/resources.py` picks the
implementation. SQL is written once (DuckDB dialect, BigQuery-compatible subset) and each
engine runs it its way; frames are written through engine-specific bulk paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from commercepulse.warehouse.schema import ALL_TABLES

Statement = tuple[str, Mapping[str, Any]]

#: Staged events one window statement reads at most: a bigger window runs as several statements
#: over consecutive sub-windows, in one transaction, so no statement needs the memory of the whole
#: window. Measured on DuckDB: a year at 20k events a day (~7M) failed `fact_orders` as one
#: statement under a 1 GB memory limit, 30 days of it (~0.65M) passed. An engine bounded by
#: memory scales it with its limit (DuckDB: this many per GB).
STATEMENT_EVENTS = 1_000_000


class Warehouse(BaseModel):
    """The warehouse interface; parameters are always passed as query parameters ($name).

    A plain (frozen) model: the Dagster side hands an instance to assets as a resource."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    @contextmanager
    def session(self) -> Iterator[None]:
        """Reuse one connection for many small queries (engines without connections: no-op)."""
        yield

    @contextmanager
    def run_scope(self) -> Iterator[None]:
        """The life of one run (or sensor tick): an engine with per-process connections keeps the
        one it opens first until the scope ends (others: no-op)."""
        yield

    def statement_events(self) -> int:
        """Staged events one window statement may read (see STATEMENT_EVENTS)."""
        return STATEMENT_EVENTS

    def execute(self, statements: Sequence[Statement]) -> None:
        """Run statements in one transaction (all or nothing)."""
        raise NotImplementedError

    def execute_each(self, statements: Sequence[Statement]) -> None:
        """Run statements each of which leaves its table right on its own (`fact_orders`' bucket
        MERGEs: every row merged is its order's whole state, recomputed from all staging), so an
        engine may commit them one by one; a failure leaves the earlier ones, and a re-run
        converges. By default: one transaction."""
        self.execute(statements)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        raise NotImplementedError

    @contextmanager
    def partition_writer(self, names: Sequence[str], start: date, end: date) -> Iterator[Callable]:
        """Replace [start, end) of the tables `names`: yields `write(frames)`; commits at the end."""
        raise NotImplementedError
        yield  # pragma: no cover

    def replace_partitions(
        self, frames: Mapping[str, pd.DataFrame], start: date, end: date
    ) -> None:
        """Delete [start, end) of each table's partition column and insert the frames, atomically."""
        with self.partition_writer(list(frames), start, end) as write:
            write(frames)

    def delete_days_except(
        self, names: Sequence[str], start: date, end: date, keep: Sequence[str]
    ) -> None:
        """Delete the rows of [start, end) whose partition day is not in `keep` (ISO days)."""
        raise NotImplementedError

    def replace_keys(self, batches: Sequence[tuple[str, str, Sequence[str], pd.DataFrame]]) -> None:
        """For each (table, key column, keys, frame): delete the keys' rows, insert the frame; atomically."""
        raise NotImplementedError

    def replace_table(self, name: str, frame: pd.DataFrame) -> None:
        """The whole table becomes `frame`."""
        raise NotImplementedError

    def publish_snapshot(self, info: pd.DataFrame, keep: int | None = None) -> str:
        """Record a read snapshot (one `snapshot_info` row) and publish it; returns where readers
        find it. An engine whose tables serve any number of readers already (BigQuery) only
        records it; DuckDB publishes a file (`snapshots.py`) and keeps the newest `keep` (default:
        its setting; an erasure keeps 1)."""
        info = info.assign(location=self.readers_location())
        self.replace_keys([("snapshot_info", "snapshot_id", list(info["snapshot_id"]), info)])
        return self.readers_location()

    def readers_location(self) -> str:
        """Where readers find the published figures, for people."""
        raise NotImplementedError

    def table(self, name: str) -> pd.DataFrame:
        """A whole table ordered by its key (tests, reports, summaries)."""
        table = ALL_TABLES[name]
        order = ", ".join(table.key) if table.key else "1"
        return self.query(f"SELECT * FROM {name} ORDER BY {order}")
