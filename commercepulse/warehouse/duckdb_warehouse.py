"""The embedded DuckDB warehouse (default): DDL from the table specs, parameterised SQL."""

from __future__ import annotations

import fcntl
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from pydantic import Field

from commercepulse.errors import ConfigurationError
from commercepulse.lib.money import MONEY_SQL, SENT_SQL
from commercepulse.lib.process_identity import alive, command_of
from commercepulse.settings import SIZE
from commercepulse.warehouse.base import STATEMENT_EVENTS, Warehouse
from commercepulse.warehouse.schema import ALL_TABLES, DROPPED_COLUMNS, Table
from commercepulse.warehouse.snapshots import LATEST, SUFFIX, publish_file

_INITIALISED: set[str] = set()
_SESSIONS = threading.local()  # path -> the connection of an open `session()` in this thread
_SCOPES = threading.local()  # path -> the ExitStack of a `run_scope()` connection (None: unopened)
_HELD: dict[str, tuple[threading.RLock, list[int]]] = {}  # path -> (in-process lock, [depth, fd])
_HELD_GUARD = threading.Lock()
log = logging.getLogger("commercepulse.warehouse")


@contextmanager
def writer_lock(path: str) -> Iterator[None]:
    """One process at a time on a DuckDB file (DuckDB allows a single writing process).

    An advisory `flock` on `<file>.lock`, waited for (with a message) rather than failing, so the
    CLI's runs, UI runs and sensor runs take turns. Re-entrant within a process."""
    with _HELD_GUARD:
        lock, state = _HELD.setdefault(path, (threading.RLock(), [0, -1]))
    with lock:
        if state[0] == 0:
            fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.warning("warehouse %s is in use by another process: waiting for its turn", path)
                started = time.monotonic()
                fcntl.flock(fd, fcntl.LOCK_EX)
                log.warning("warehouse lock acquired after %.1f s", time.monotonic() - started)
            state[1] = fd
        state[0] += 1
        try:
            yield
        finally:
            state[0] -= 1
            if state[0] == 0:
                fcntl.flock(state[1], fcntl.LOCK_UN)
                os.close(state[1])
                state[1] = -1


#: "Conflicting lock is held in /usr/bin/python3.11 (PID 6525)": DuckDB names the holder.
_HOLDER = re.compile(r"lock is held in (?P<command>.*?) \(PID (?P<pid>\d+)\)")
#: Seconds between the messages that say who still holds the file.
HOLDER_MESSAGE_EVERY_S = 30.0


def _connect_waiting(path: str) -> duckdb.DuckDBPyConnection:
    """A connection to `path`, waited for while another process holds the file.

    A holder outside `writer_lock` is a process of someone else's: an analyst's notebook, the
    DuckDB CLI, a BI tool (readers, mostly). It is waited for as long as it runs, with a message
    every HOLDER_MESSAGE_EVERY_S naming it (PID and command where the OS says), so a run never
    fails because a notebook was left open. A lock error that names no live holder is retried
    for about two minutes, then raised."""
    delay, started, said, anonymous = 0.1, time.monotonic(), 0.0, 0
    while True:
        try:
            con = duckdb.connect(path)
            if said:
                log.warning("warehouse %s free after %.0f s", path, time.monotonic() - started)
            return con
        except duckdb.IOException as exc:
            found = _HOLDER.search(str(exc))
            pid = int(found["pid"]) if found else None
            if pid is None or pid == os.getpid() or not alive(pid):
                anonymous += 1
                if anonymous >= 60:
                    raise
            elif time.monotonic() - said >= HOLDER_MESSAGE_EVERY_S or not said:
                said = time.monotonic()
                command = command_of(pid) or found["command"]
                log.warning(
                    "warehouse %s is held by another process, PID %d (%s), for %.0f s: waiting "
                    "for it to close its connection (an analyst's notebook or the DuckDB CLI?)",
                    path,
                    pid,
                    command,
                    said - started,
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)


def _thread_dict(local: threading.local, name: str) -> dict:
    """This thread's dict `name` of `local` (created empty on first use)."""
    found = getattr(local, name, None)
    if found is None:
        found = {}
        setattr(local, name, found)
    return found


DUCKDB_TYPES = {
    "STRING": "VARCHAR",
    "INT64": "BIGINT",
    "FLOAT64": "DOUBLE",
    "MONEY": MONEY_SQL,
    "DECIMAL6": SENT_SQL,
    "BOOL": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMPTZ",
    "DATE": "DATE",
}


def ddl(table: Table) -> str:
    cols = ",\n  ".join(
        f"{c.name} {DUCKDB_TYPES[c.type]}{'' if c.nullable else ' NOT NULL'}" for c in table.columns
    )
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n  {cols}\n)"


def added_columns(table: Table) -> list[str]:
    """`ALTER TABLE … ADD COLUMN IF NOT EXISTS` for every nullable column: a warehouse written by
    an earlier version gains the columns added since (additive changes only; nothing dropped)."""
    return [
        f"ALTER TABLE {table.name} ADD COLUMN IF NOT EXISTS {c.name} {DUCKDB_TYPES[c.type]}"
        for c in table.columns
        if c.nullable
    ]


def exact_money_migration(con: duckdb.DuckDBPyConnection) -> list[str]:
    """`ALTER … TYPE DECIMAL` for every money column a warehouse of an earlier version still holds
    as DOUBLE (SPEC §4: exact decimals). DuckDB's cast rounds each double to its nearest kobo, the
    value it stood for; a column already exact is left alone, so this runs once."""
    exact = {
        (t.name, c.name): DUCKDB_TYPES[c.type]
        for t in ALL_TABLES.values()
        for c in t.columns
        if c.type in ("MONEY", "DECIMAL6")
    }
    found = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND data_type = 'DOUBLE'"
    ).fetchall()
    return [
        f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {exact[(table, column)]}"
        for table, column in found
        if (table, column) in exact
    ]


#: WAL size at which a commit checkpoints (DuckDB's default is 16 MB). A staging window commits
#: a chunk at a time, so with the default nearly every commit rewrote the tables it touched:
#: 30 days × 20k events committed in 11.6 s, against 0.8 s with this threshold plus 1.2 s for
#: the checkpoint made when the run's connection closes.
CHECKPOINT_THRESHOLD = "256MB"


def _insert(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    """Append a frame to a table, matching columns by name."""
    if len(frame):
        con.register("incoming", frame)
        con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")
        con.unregister("incoming")


class DuckDBWarehouse(Warehouse):
    """A DuckDB file; connections are short-lived and retried while another process holds the lock."""

    path: str
    # DuckDB spills to disk beyond this instead of growing with the window (validated: SET takes no parameters)
    memory_limit: str = Field("320MB", pattern=f"^{SIZE}$")
    # Evicted memory freed at once beyond which DuckDB's allocator (jemalloc) hands its pages back
    # before the next allocation; "" keeps DuckDB's 512 MiB, more than the whole limit, so evicted
    # pages stay resident. 2MB: the year × 20k world 673 MB instead of 718 MB, 30 × 20k 565–588 MB
    # instead of 623–629 MB, but the data pack's run 27.9–29.8 s instead of 25.5–26.2 s (README).
    allocator_flush: str = Field("", pattern=f"^({SIZE})?$")

    #: where read snapshots are published ("" = a `snapshots` folder beside the file), and how
    #: many are kept (SNAPSHOTS_DIR, SNAPSHOTS_KEEP)
    snapshots_dir: str = ""
    snapshots_keep: int = Field(3, ge=1)

    @property
    def snapshots_path(self) -> Path:
        return (
            Path(self.snapshots_dir) if self.snapshots_dir else Path(self.path).parent / "snapshots"
        )

    def readers_location(self) -> str:
        return str(self.snapshots_path / LATEST)

    def publish_snapshot(self, info: pd.DataFrame, keep: int | None = None) -> str:
        """Record the snapshot, checkpoint (the file alone is then the whole database) and publish
        a copy, all under this process's hold on the file: the copy is exactly what the refresh
        left, and no other writer can run in between (`snapshots.py`)."""
        name = str(info["snapshot_id"].iat[0])
        info = info.assign(location=str(self.snapshots_path / f"{name}{SUFFIX}"))
        with self.session(), self.connect() as con:
            self.replace_keys([("snapshot_info", "snapshot_id", [name], info)])
            con.execute("FORCE CHECKPOINT")
            try:
                final = publish_file(
                    Path(self.path), self.snapshots_path, name, keep or self.snapshots_keep
                )
            except BaseException:
                con.execute("DELETE FROM snapshot_info WHERE snapshot_id = $id", {"id": name})
                raise
        return str(final)

    def statement_events(self) -> int:
        """STATEMENT_EVENTS per GB (10^9 bytes) of `memory_limit`, at least 100,000."""
        number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B)", self.memory_limit).groups()
        power = "KMGT".index(unit[0]) + 1
        size = float(number) * (1024**power if "i" in unit else 1000**power)
        return max(100_000, int(STATEMENT_EVENTS * size / 1000**3))

    @contextmanager
    def run_scope(self) -> Iterator[None]:
        """One connection for a whole run: opening a DuckDB file costs ~25 ms (its catalog is
        read) and a refresh's steps opened it ~60 times. The first call inside the scope opens
        it (and takes the writer lock), and it stays open until the scope ends; a run that never
        touches the warehouse (a landing step alone) never takes the lock. In-process steps run
        in the thread that entered the scope; other threads open their own, as before."""
        scopes = _thread_dict(_SCOPES, "stacks")
        if self.path in scopes:
            yield
            return
        scopes[self.path] = None
        try:
            yield
        finally:
            stack = scopes.pop(self.path)
            if stack is not None:
                _thread_dict(_SESSIONS, "connections").pop(self.path, None)
                stack.close()

    def _scoped(self) -> duckdb.DuckDBPyConnection | None:
        """The run scope's connection, opened now if the scope has none yet."""
        scopes = _thread_dict(_SCOPES, "stacks")
        if self.path not in scopes:
            return None
        if scopes[self.path] is None:
            stack = ExitStack()
            _thread_dict(_SESSIONS, "connections")[self.path] = stack.enter_context(self._open())
            scopes[self.path] = stack
        return _thread_dict(_SESSIONS, "connections")[self.path]

    @contextmanager
    def session(self) -> Iterator[None]:
        """Hold one connection for every call inside the block (many small queries)."""
        open_now = _thread_dict(_SESSIONS, "connections")
        if self.path in open_now or self._scoped() is not None:
            yield
            return
        with self._open() as con:
            open_now[self.path] = con
            try:
                yield
            finally:
                del open_now[self.path]

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        shared = _thread_dict(_SESSIONS, "connections").get(self.path)
        if shared is None:
            shared = self._scoped()
        with self._memory_advice():
            if shared is not None:
                yield shared
                return
            with self._open() as con:
                yield con

    @contextmanager
    def _memory_advice(self) -> Iterator[None]:
        """DuckDB's out-of-memory error names threads and pragmas; the user's lever is one setting."""
        try:
            yield
        except duckdb.OutOfMemoryException as exc:
            raise ConfigurationError(
                f"DuckDB needed more memory than DUCKDB_MEMORY_LIMIT={self.memory_limit} allows "
                f"({str(exc).splitlines()[0]}). Raise DUCKDB_MEMORY_LIMIT (the default, "
                f"{type(self).model_fields['memory_limit'].default}, carries a year of 20,000 "
                "events a day) and re-run the failed step: every step is idempotent."
            ) from exc

    @contextmanager
    def _open(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with writer_lock(self.path), self._connection() as con:
            yield con

    @contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A configured connection; retried while a process outside `writer_lock` holds the file."""
        con = _connect_waiting(self.path)
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute(f"SET memory_limit = '{self.memory_limit}'")
            con.execute("SET preserve_insertion_order = false")
            con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
            if self.allocator_flush:
                con.execute(
                    f"SET allocator_bulk_deallocation_flush_threshold = '{self.allocator_flush}'"
                )
            if self.path not in _INITIALISED:
                for table in ALL_TABLES.values():
                    con.execute(ddl(table))
                    for statement in added_columns(table):
                        con.execute(statement)
                for statement in exact_money_migration(con):
                    con.execute(statement)
                for table, column in DROPPED_COLUMNS:
                    con.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {column}")
                _INITIALISED.add(self.path)
            yield con
        finally:
            con.close()

    def execute(self, statements: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Run statements in one transaction (all or nothing)."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for sql, params in statements:
                    con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise

    def execute_each(self, statements: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """A transaction per statement: DuckDB holds a transaction's merged rows in memory until
        it commits. The year × 20k world's `fact_orders` (1.9M orders, 19 bucket MERGEs) on a
        copy of its warehouse, in a bare process: one transaction peaked at 714 MB and ran out of
        memory at 320MB; a commit per MERGE 656 MB, and 592 MB at 320MB."""
        for statement in statements:
            self.execute([statement])

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        with self.connect() as con:
            return con.execute(sql, dict(params or {})).df()

    @contextmanager
    def partition_writer(self, names: Sequence[str], start: date, end: date) -> Iterator[Callable]:
        """Replace [start, end) of the tables `names` in one transaction.

        The window is deleted once; the yielded `write(frames)` appends frames (e.g. day by day,
        to bound memory). Nothing is visible to readers until the whole window commits.
        """
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for name in names:
                    col = ALL_TABLES[name].partition_col
                    con.execute(
                        f"DELETE FROM {name} WHERE {col} >= $start AND {col} < $end",
                        {"start": start, "end": end},
                    )

                def write(frames: Mapping[str, pd.DataFrame]) -> None:
                    for name, frame in frames.items():
                        _insert(con, name, frame)

                yield write
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def delete_days_except(
        self, names: Sequence[str], start: date, end: date, keep: Sequence[str]
    ) -> None:
        """Delete the rows of [start, end) whose partition day is not in `keep` (ISO days)."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            for name in names:
                col = ALL_TABLES[name].partition_col
                con.execute(
                    f"DELETE FROM {name} WHERE {col} >= $start AND {col} < $end "
                    f"AND NOT list_contains($keep, CAST({col} AS VARCHAR))",
                    {"start": start, "end": end, "keep": list(keep)},
                )
            con.execute("COMMIT")

    def replace_keys(self, batches: Sequence[tuple[str, str, Sequence[str], pd.DataFrame]]) -> None:
        """For each (table, key column, keys, frame): delete the keys' rows, insert the frame; atomically."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for name, column, keys, frame in batches:
                    con.register(
                        "touched", pd.DataFrame({"k": pd.Series(list(keys), dtype="string")})
                    )
                    con.execute(f"DELETE FROM {name} WHERE {column} IN (SELECT k FROM touched)")
                    con.unregister("touched")
                    _insert(con, name, frame)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def replace_table(self, name: str, frame: pd.DataFrame) -> None:
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"DELETE FROM {name}")
                _insert(con, name, frame)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
