"""The Dagster instance configurations the project ships: the local one written by
`commercepulse instance prepare`, and production's deploy/dagster.yaml, both on a real
PostgreSQL started by the project."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import dagster as dg

from commercepulse.instance.home import MARKER, dagster_yaml, write_dagster_yaml

ROOT = Path(__file__).resolve().parents[2]


@dg.asset
def probe() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"ok": True})


def test_production_dagster_yaml_runs_on_postgres_with_url_from_the_environment(
    tmp_path, postgres_instances
):
    database = f"cp_prod_{uuid.uuid4().hex[:8]}"
    postgres_instances._sql(f"CREATE DATABASE {database} TEMPLATE {postgres_instances.TEMPLATE}")
    shutil.copy(ROOT / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    assert (
        "postgresql" not in (tmp_path / "dagster.yaml").read_text().split("env: DAGSTER_PG_URL")[0]
    )
    os.environ["DAGSTER_PG_URL"] = postgres_instances._database_url(database)
    try:
        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert instance.run_monitoring_enabled and instance.run_retries_enabled
            assert instance.run_retries_max_retries == 2
            result = dg.materialize([probe], instance=instance)
            assert result.success
            assert instance.get_latest_materialization_event(dg.AssetKey("probe")) is not None
    finally:
        del os.environ["DAGSTER_PG_URL"]
        postgres_instances._sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def test_local_dagster_yaml_is_written_unless_the_user_keeps_their_own(tmp_path):
    text = dagster_yaml("postgres", "postgresql+psycopg2://postgres:@/dagster?host=/tmp/x")
    assert write_dagster_yaml(tmp_path, text) and (tmp_path / "dagster.yaml").read_text() == text
    assert "max_concurrent_runs: 1" in text and MARKER in text
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # the user's own
    assert not write_dagster_yaml(tmp_path, text)
    assert (tmp_path / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_run_topology_is_one_in_process_run_on_duckdb_and_split_runs_on_bigquery(tmp_path):
    """DuckDB takes one writing process: single-run backfills, in-process steps, a queue of one.
    BigQuery: multi-run backfills of BACKFILL_RUN_DAYS, parallel step processes, a wider queue."""
    import dagster as dg

    from commercepulse.definitions import build_definitions
    from commercepulse.defs.resources import build_resources, run_topology
    from commercepulse.settings import Settings

    duck = Settings(duckdb_path=tmp_path / "w.duckdb")
    bq = Settings(warehouse="bigquery", bq_project="p", backfill_run_days=7, max_concurrent_runs=3)
    resources = build_resources(duck)
    for settings, policy, executor, queue in (
        (duck, dg.BackfillPolicy.single_run(), "in_process", 1),
        (bq, dg.BackfillPolicy.multi_run(7), "multiprocess", 3),
    ):
        defs = build_definitions(resources, {}, run_topology(settings))
        graph = defs.resolve_asset_graph()
        partitioned = [k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def]
        assert len(partitioned) > 20
        assert {graph.get(k).backfill_policy for k in partitioned} == {policy}
        assert defs.resolve_job_def("business_day_job").executor_def.name == executor
        assert f"max_concurrent_runs: {queue}\n" in dagster_yaml(
            "sqlite", None, settings.concurrent_runs
        )


def test_runs_keep_their_info_lines_and_the_librarys_warnings(tmp_path):
    """The local dagster.yaml captures the `commercepulse` logger's warnings in the run's log, and
    a run's own INFO lines (e.g. the explain job's "N row(s) behind …") stay: Dagster applies a
    python_log_level to every run's context.log too, so none is set."""
    import logging

    import dagster as dg

    from commercepulse.instance.home import dagster_yaml

    (tmp_path / "dagster.yaml").write_text(dagster_yaml("sqlite", None))

    @dg.op
    def speak(context) -> None:
        context.log.info("an info line of the run")
        logging.getLogger("commercepulse.warehouse").warning("a warning of the library")
        logging.getLogger("commercepulse.warehouse").info("a library detail")

    @dg.job
    def speaking():
        speak()

    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        result = speaking.execute_in_process(instance=instance)
        said = [e.message for e in instance.all_logs(result.run_id)]
    assert "an info line of the run" in said and "a warning of the library" in said
    assert "a library detail" not in said
