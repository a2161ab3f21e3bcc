"""Bad settings and dead services through the CLI: one line naming the variable (or the masked
address) and what to do, exit 2, never a traceback; `--debug` keeps the traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from commercepulse.errors import mask_uri
from commercepulse_tests.harness import settings_env

BAD_SETTINGS = [  # (variable, value, words the line must carry)
    ("MONGO_DB", "", ["MONGO_DB=''", "database name"]),
    ("MONGO_DB", "a.b", ["MONGO_DB='a.b'", "database name"]),
    ("WAREHOUSE", "foo", ["WAREHOUSE='foo'", "duckdb or bigquery"]),
    ("LATE_THRESHOLD_HOURS", "abc", ["LATE_THRESHOLD_HOURS='abc'", "number"]),
    ("DUCKDB_MEMORY_LIMIT", "lots", ["DUCKDB_MEMORY_LIMIT='lots'", "1GB"]),
    ("CHECK_DUPLICATE_RATE_MAX", "ten", ["CHECK_DUPLICATE_RATE_MAX='ten'", "number"]),
    ("DAGSTER_STORAGE", "mysql", ["DAGSTER_STORAGE='mysql'", "postgres or sqlite"]),
]
DEAD_MONGO = "mongodb://analyst:s3cret@127.0.0.1:1/?serverSelectionTimeoutMS=300"


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "commercepulse.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line(result: subprocess.CompletedProcess, words: list[str]) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.fixture
def day_folder(tmp_path):
    folder = tmp_path / "2025-01-15"
    folder.mkdir()
    (folder / "events.jsonl").write_text(
        '{"event_id": "e1", "event_type": "order_created", '
        '"event_time": "2025-01-15T10:00:00Z", "vendor": "vendor_a", "payload": {}}\n'
    )
    return folder


@pytest.mark.parametrize(
    ("variable", "value", "words"), BAD_SETTINGS, ids=[f"{v}={x}" for v, x, _ in BAD_SETTINGS]
)
def test_a_bad_setting_is_one_line_and_exit_2(env, day_folder, variable, value, words):
    result = cli(
        ["ingest", "live", str(day_folder), "--json"], {**settings_env(env), variable: value}
    )
    assert_one_line(result, [*words, ".env.example"])


def test_an_unreachable_mongodb_names_the_masked_address(env, day_folder):
    result = cli(
        ["ingest", "live", str(day_folder), "--json"],
        {**settings_env(env), "MONGO_URI": DEAD_MONGO},
    )
    assert_one_line(result, [mask_uri(DEAD_MONGO), "MONGO_URI"])
    assert "s3cret" not in result.stderr and "analyst:***@" in result.stderr


def test_an_unreachable_postgresql_names_the_setting(env):
    dead = "postgresql+psycopg2://dagster:pw@127.0.0.1:1/dagster"
    result = cli(
        ["run"], {**settings_env(env), "DAGSTER_PG_URL": dead, "DATA_DIR": str(env.data_dir)}
    )
    assert_one_line(result, ["PostgreSQL", "DAGSTER_PG_URL", mask_uri(dead)])
    assert "pw@" not in result.stderr


def test_bigquery_without_a_project_says_what_to_set(env):
    result = cli(["report", "--date", "2025-01-15"], {**settings_env(env), "WAREHOUSE": "bigquery"})
    assert_one_line(result, ["BQ_PROJECT"])


def test_debug_keeps_the_traceback(env, day_folder):
    result = cli(
        ["--debug", "ingest", "live", str(day_folder)], {**settings_env(env), "WAREHOUSE": "foo"}
    )
    assert (
        result.returncode != 0
        and "Traceback" in result.stderr
        and "ValidationError" in result.stderr
    )
    result = cli(
        ["ingest", "live", str(day_folder)],
        {**settings_env(env), "WAREHOUSE": "foo", "COMMERCEPULSE_DEBUG": "1"},
    )
    assert "Traceback" in result.stderr


def test_mask_uri_hides_only_the_password():
    assert mask_uri("mongodb://u:p%40ss@h:1/db?x=1") == "mongodb://u:***@h:1/db?x=1"
    assert mask_uri("postgresql://h/db") == "postgresql://h/db"


def test_the_code_location_says_which_setting_is_bad(env):
    """What the Dagster UI shows when the code location cannot load: the same one line."""
    result = subprocess.run(
        [sys.executable, "-c", "from commercepulse.definitions import defs; defs()"],
        capture_output=True,
        text=True,
        env={**settings_env(env), "WAREHOUSE": "foo"},
        timeout=120,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "commercepulse.errors.ConfigurationError: bad setting: WAREHOUSE='foo' is not valid; expected duckdb or "
        "bigquery (see .env.example)"
    )


def test_bigquery_without_credentials_is_one_line_from_the_warehouse():
    """The BigQuery engine turns Google's credential and access errors into one line."""
    from contextlib import contextmanager

    from google.api_core.exceptions import Forbidden
    from google.auth.exceptions import DefaultCredentialsError

    from commercepulse.errors import ServiceUnreachableError
    from commercepulse.warehouse.bigquery_warehouse import BigQueryWarehouse

    class Refusing:
        def __init__(self, error: Exception, project: str) -> None:
            self.error, self.project = error, project

        def create_dataset(self, *args, **kwargs):
            raise self.error

    cases = [(DefaultCredentialsError("no ADC"), "GOOGLE_APPLICATION_CREDENTIALS"),
             (Forbidden("Access Denied: dataset p:cp"), "BQ_PROJECT")]  # fmt: skip
    for n, (error, words) in enumerate(cases):
        client = Refusing(error, f"p-{n}")

        @contextmanager
        def connect(client=client):
            yield client

        warehouse = BigQueryWarehouse(project=client.project, dataset="cp", connect=connect)
        with pytest.raises(ServiceUnreachableError, match=words):
            warehouse.query("SELECT 1")


def test_a_step_that_meets_a_bad_service_fails_with_the_line_as_its_description(env):
    """In the UI the run fails with the one line as the failure's description."""
    import dagster as dg

    from commercepulse.errors import ServiceUnreachableError
    from commercepulse_tests.harness import definitions, run_job, warehouse_of

    line = "BigQuery refused the request (403 Access Denied); check BQ_PROJECT, BQ_DATASET"
    warehouse = warehouse_of(env)

    class Refusing(type(warehouse)):
        def execute(self, statements):
            raise ServiceUnreachableError(line)

    broken = Refusing(path=warehouse.path)
    result = run_job(definitions(env, broken), "refresh_job", dg.DagsterInstance.ephemeral(),
                     raise_on_error=False)  # fmt: skip
    failures = {f.step_key: f.step_failure_data for f in result.get_step_failure_events()}
    kpis = {key: data for key, data in failures.items() if key.startswith("kpi_daily_revenue")}
    assert kpis, failures.keys()
    for data in kpis.values():
        assert data.user_failure_data is not None and data.user_failure_data.description == line


def test_duckdb_out_of_memory_names_the_setting_to_raise(tmp_path):
    """A statement beyond DUCKDB_MEMORY_LIMIT fails with the setting and what to do, not with
    DuckDB's advice about threads and pragmas; the warehouse stays usable."""
    from commercepulse.errors import ConfigurationError
    from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse

    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"), memory_limit="8MB")
    with pytest.raises(ConfigurationError, match=r"DUCKDB_MEMORY_LIMIT=8MB allows .*Raise"):
        warehouse.query(
            "SELECT string_agg(CAST(x AS VARCHAR), ',' ORDER BY x DESC) AS s FROM range(3000000) t(x)"
        )
    assert warehouse.query("SELECT 1 AS one")["one"].tolist() == [1]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--reason", "ticket 1"], ["exactly one of --email, --phone or --customer-id"]),
        (["--reason", "t", "--email", "a@b.co", "--phone", "+2348010000000"], ["exactly one"]),
        (["--reason", " ", "--email", "a@b.co"], ["--reason is required"]),
    ],
    ids=["no identifier", "two identifiers", "blank reason"],
)
def test_a_bad_erasure_request_is_one_line_before_anything_starts(env, args, words):
    result = cli(["erase-customer", *args], {**settings_env(env), "MONGO_URI": DEAD_MONGO})
    assert_one_line(result, words)
