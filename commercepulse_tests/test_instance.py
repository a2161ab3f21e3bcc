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

ROOT = Path(__file__).resolve().parents[1]


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
