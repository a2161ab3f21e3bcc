"""Test helpers: definitions built from explicit settings (no environment patching), runs of the
definitions' named jobs, and the settings as environment variables for subprocesses."""

from __future__ import annotations

import os

import dagster as dg

from commercepulse.definitions import build_definitions
from commercepulse.defs.partitions import day_range
from commercepulse.defs.resources import build_resources, build_warehouse
from commercepulse.instance.home import pooled
from commercepulse.runner import QUIET
from commercepulse.settings import Settings
from commercepulse.warehouse.base import Warehouse

ENV_OF = {
    "mongo_uri": "MONGO_URI",
    "mongo_db": "MONGO_DB",
    "commercepulse_home": "COMMERCEPULSE_HOME",
    "duckdb_path": "DUCKDB_PATH",
    "data_dir": "DATA_DIR",
    "reports_dir": "REPORTS_DIR",
    "warehouse": "WAREHOUSE",
}


def definitions(settings: Settings, warehouse: Warehouse | None = None) -> dg.Definitions:
    return build_definitions(build_resources(settings, warehouse), settings.asset_owners)


def warehouse_of(settings: Settings) -> Warehouse:
    return build_warehouse(settings)


def run_job(
    defs: dg.Definitions,
    job: str,
    instance: dg.DagsterInstance,
    first: str | None = None,
    last: str | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """One run of a named job, for one day, a range of days (single run), or unpartitioned."""
    partition_key, tags = day_range(first, last)
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance,
        run_config=QUIET,
        raise_on_error=raise_on_error,
        tags=tags,
        partition_key=partition_key,
    )


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """Check evaluations by `asset:check` (unpartitioned) or `asset:check@day` (per partition)."""
    return {
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        + (f"@{e.partition}" if e.partition else ""): e
        for e in result.get_asset_check_evaluations()
    }


def settings_env(settings: Settings) -> dict[str, str]:
    """The process environment with these settings (for the CLI in a subprocess)."""
    values = {
        env: str(getattr(settings, field))
        for field, env in ENV_OF.items()
        if getattr(settings, field) is not None
    }
    return {**os.environ, **values}


class PostgresInstances:
    """Fresh Dagster instances on the project's local PostgreSQL (the production storage, batched):
    each gets its own database, cloned from a template that already holds Dagster's schema."""

    TEMPLATE = "cp_instance_template"

    def __init__(self, url: str) -> None:
        import sqlalchemy

        self.url = sqlalchemy.engine.make_url(url)
        self.admin = sqlalchemy.create_engine(
            self.url.set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        self._sql(f"DROP DATABASE IF EXISTS {self.TEMPLATE} WITH (FORCE)")
        self._sql(f"CREATE DATABASE {self.TEMPLATE}")
        with self._instance(self.TEMPLATE):
            pass  # creates the schema once

    def _sql(self, statement: str) -> None:
        import sqlalchemy

        with self.admin.connect() as connection:
            connection.execute(sqlalchemy.text(statement))

    def _database_url(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _instance(self, name: str):
        return dg.instance_for_test(
            overrides={"storage": {"postgres": {"postgres_url": self._database_url(name)}}},
            set_dagster_home=False,
        )

    def new(self):
        """A context manager: a fresh instance, its database dropped afterwards."""
        import uuid
        from contextlib import contextmanager

        @contextmanager
        def scope():
            name = f"cp_instance_{uuid.uuid4().hex[:10]}"
            self._sql(f"CREATE DATABASE {name} TEMPLATE {self.TEMPLATE}")
            try:
                with self._instance(name) as instance:
                    pooled(instance)
                    yield instance
            finally:
                self._sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

        return scope()


def processes() -> dict[int, tuple[int, str, bytes]]:
    """Every live process: pid -> (parent pid, state letter, command line), from /proc."""
    table: dict[int, tuple[int, str, bytes]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat_file:
                    stat = stat_file.read()
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    command = cmdline.read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            table[int(entry)] = (int(fields[1]), fields[0], command)
    return table


def fork_servers(owner: int) -> list[int]:
    """The multiprocessing fork servers `owner` started (`commercepulse.lib.processes.worker_pool`)."""
    return [
        pid
        for pid, (parent, _, command) in processes().items()
        if parent == owner and b"multiprocessing.forkserver" in command
    ]


def pool_workers(owner: int) -> list[int]:
    """Worker processes of `owner`'s fork servers: there are some while one of its pools runs."""
    servers = set(fork_servers(owner))
    return [pid for pid, (parent, _, _) in processes().items() if parent in servers]


def alive(pids: list[int]) -> list[int]:
    """Those of `pids` still running (a zombie has ended)."""
    table = processes()
    return [pid for pid in pids if pid in table and table[pid][1] != "Z"]


def rule_inputs(db, wh, settings):
    """What a rule reads (`RuleInputs`) from an open database, a warehouse and settings."""
    from commercepulse.checks.spec import RuleInputs

    return RuleInputs(lambda: db, wh, settings)


def late_payment(
    event_id: str,
    day: str,
    amount: int,
    ingested_at: str = "2025-01-16T10:00:00Z",
    order_id: str = "ORD-250112-00001",
) -> dict:
    """A vendor_b live line: a successful NGN payment of `day` (12:00 UTC) that lands at
    `ingested_at` (late data for an already-published day of the data pack)."""
    return {
        "event_id": event_id,
        "event_type": "payment_succeeded",
        "event_time": f"{day}T12:00:00Z",
        "vendor": "vendor_b",
        "ingested_at": ingested_at,
        "payload": {
            "order_id": order_id,
            "paid_at": f"{day}T12:00:00Z",
            "payment_status": "SUCCESS",
            "amountPaid": amount,
            "currencyCode": "NGN",
            "channel": "card",
            "transaction_id": f"ref-{event_id}",
        },
    }
