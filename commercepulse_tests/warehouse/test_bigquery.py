"""WAREHOUSE=bigquery: the same assets against a local BigQuery emulator (bqemulator), and unit
tests of what the emulator cannot prove (partitioning/clustering specs, DATE parameters)."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from contextlib import nullcontext
from datetime import UTC, date, datetime

import dagster as dg
import pandas as pd
import pytest

from commercepulse.mongo.client import get_database
from commercepulse.runner import run_all
from commercepulse.warehouse import sql as wsql
from commercepulse.warehouse.bigquery_warehouse import (
    BigQueryWarehouse,
    parameters,
    table_definition,
)
from commercepulse.warehouse.dialect import to_bigquery
from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse
from commercepulse.warehouse.gold_sql import GOLD_STATEMENTS
from commercepulse.warehouse.schema import ALL_TABLES, FACTS, KPIS, PLATFORM_GOLD
from commercepulse_tests.harness import definitions, run_job, warehouse_of

bqemulator = pytest.importorskip("bqemulator", reason="bqemulator (test extra) is not installed")

COMPARED = [*FACTS, *KPIS, *PLATFORM_GOLD]
PROJECT = "test-proj"


def comparable(frame: pd.DataFrame, name: str) -> list[tuple]:
    """Rows as plain values in key order: engines differ in dtypes, not in content."""
    frame = frame.drop(columns=["run_id"], errors="ignore")
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_datetime64_any_dtype(values):
            values = pd.to_datetime(values, utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
        elif pd.api.types.is_float_dtype(values):
            values = values.round(6)
        out[col] = values.astype(object).where(values.notna(), None)
    key = list(ALL_TABLES[name].key)
    return [tuple(r) for r in out.sort_values(key, kind="stable").itertuples(index=False)]


def rounded(value):
    """JSON-like data with floats rounded to 6 decimals."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def checksum(warehouse, name: str) -> str:
    return hashlib.sha256(repr(comparable(warehouse.table(name), name)).encode()).hexdigest()


@pytest.fixture(scope="session")
def bq_endpoint(tmp_path_factory):
    from commercepulse_tests.bq_emulator import running_emulator

    log = tmp_path_factory.mktemp("bqemu") / "emulator.log"
    with running_emulator(PROJECT, log) as endpoint:
        yield endpoint


def emulator_warehouse(endpoint: str, dataset: str) -> BigQueryWarehouse:
    """The product's BigQuery warehouse on the emulator: its endpoint, anonymous credentials."""
    from commercepulse_tests.bq_emulator import EmulatorBigQuery, EmulatorWarehouse

    client = EmulatorBigQuery(project=PROJECT, location="US", api_endpoint=endpoint)
    return EmulatorWarehouse(
        project=PROJECT, location="US", dataset=dataset, connect=client.get_client
    )


@pytest.fixture(scope="session")
def bq_world(bq_endpoint, datapack_world, tmp_path_factory):
    """The whole pipeline on the data pack with WAREHOUSE=bigquery (emulator), reports skipped."""
    base = tmp_path_factory.mktemp("bq_world")
    settings = datapack_world[0].model_copy(
        update={
            "mongo_db": f"bq_{uuid.uuid4().hex[:8]}",
            "warehouse": "bigquery",
            "bq_project": PROJECT,
            "bq_dataset": f"cp_{uuid.uuid4().hex[:8]}",
            "bq_location": "US",
            "duckdb_path": base / "unused.duckdb",
            "reports_dir": base / "reports",
        }
    )
    warehouse = emulator_warehouse(bq_endpoint, settings.bq_dataset)
    result = run_all(
        settings,
        say=lambda _: None,
        instance=dg.DagsterInstance.ephemeral(),
        reports=False,
        warehouse=warehouse,
    )
    yield settings, warehouse, result
    get_database(settings.mongo_uri, settings.mongo_db).client.drop_database(settings.mongo_db)


@pytest.fixture
def bq_env(bq_world):
    """The BigQuery world's settings, warehouse and run result."""
    return bq_world


@pytest.mark.slow  # the emulator world: `make test-slow` (CI runs it)
def test_bigquery_run_equals_duckdb_run_row_for_row(bq_env, datapack_world):
    settings, warehouse, result = bq_env
    duck = DuckDBWarehouse(path=str(datapack_world[0].duckdb_path))
    assert result["failed_checks"] == datapack_world[1]["failed_checks"]
    non_empty = 0
    for name in COMPARED:
        left, right = comparable(duck.table(name), name), comparable(warehouse.table(name), name)
        assert len(left) == len(right), name
        assert left == right, name
        non_empty += bool(left)
    assert (
        non_empty >= 15
    )  # facts, dims and KPIs of the data pack (platform tables are empty there)


@pytest.mark.slow  # the emulator world: `make test-slow` (CI runs it)
def test_bigquery_tables_partitioned_and_clustered_as_specified(bq_env):
    settings, warehouse, _ = bq_env
    with warehouse.client() as client:
        for name in FACTS:
            table = client.get_table(f"{PROJECT}.{settings.bq_dataset}.{name}")
            spec = ALL_TABLES[name]
            if spec.time_partition is None:  # dims
                assert table.time_partitioning is None, name
            else:
                assert table.time_partitioning.field == spec.time_partition, name
            assert (table.clustering_fields or []) == list(spec.cluster), name
            assert [f.name for f in table.schema] == spec.names


@pytest.mark.slow  # the emulator world: `make test-slow` (CI runs it)
def test_bigquery_rematerialize_partition_and_backfill_leave_tables_identical(bq_env):
    settings, warehouse, _ = bq_env
    names = [n for n in COMPARED if n not in ("kpi_late_arrivals",)]
    before = {n: checksum(warehouse, n) for n in names}
    instance = dg.DagsterInstance.ephemeral()
    defs = definitions(settings, warehouse)
    run_job(defs, "business_day_job", instance, "2023-06-15")
    run_job(defs, "business_day_job", instance, "2023-03-01", "2023-03-10")
    run_job(defs, "refresh_job", instance)
    after = {n: checksum(warehouse, n) for n in names}
    assert after == before
    runs = warehouse.query(
        "SELECT count(DISTINCT run_id) AS n FROM fact_payments WHERE event_date >= $start "
        "AND event_date < $end",
        {"start": date(2023, 3, 1), "end": date(2023, 3, 11)},
    )
    assert runs["n"].iat[0] == 1  # the backfill rewrote those days in one run


# -- what the emulator cannot prove: unit tests on the specs and the generated statements ------------
def test_fact_tables_are_partitioned_by_their_business_date_and_clustered():
    for name, spec in FACTS.items():
        definition = table_definition(spec, "p.d")
        if name in ("dim_customer", "dim_product", "dim_date"):
            assert definition.time_partitioning is None
            continue
        assert definition.time_partitioning.field == spec.time_partition
        assert spec.col(spec.time_partition).type == "DATE", name  # DAY partitions on a DATE column
        assert definition.time_partitioning.type_ == "DAY"
        assert definition.clustering_fields, name
    assert table_definition(FACTS["fact_orders"], "p.d").clustering_fields == ["vendor", "order_id"]
    assert table_definition(FACTS["fact_payments"], "p.d").clustering_fields == [
        "vendor",
        "order_id",
    ]
    assert table_definition(FACTS["fact_orders"], "p.d").time_partitioning.field == "order_date"


def test_partition_windows_compare_date_columns_with_date_parameters():
    """dagster-io/dagster#13147: a DATE partition column must meet a DATE parameter, never a
    TIMESTAMP literal (real BigQuery rejects the comparison; the emulator does not)."""
    window = {
        "start": date(2023, 6, 1),
        "end": date(2023, 6, 2),
        "run_id": "r",
        "reported_at": datetime(2023, 6, 2, tzinfo=UTC),
    }
    for name, statements in {
        **wsql.WINDOW_STATEMENTS,
        **wsql.KPI_STATEMENTS,
        **GOLD_STATEMENTS,
    }.items():
        for statement in statements:
            text = to_bigquery(statement)
            assert "TIMESTAMP '" not in text and "TIMESTAMP(" not in text.replace(
                "TIMESTAMP_", ""
            ), name
            kinds = {p.name: p.type_ for p in parameters(text, window)}
            assert kinds.get("start", "DATE") == "DATE" and kinds.get("end", "DATE") == "DATE", name
            if "reported_at" in kinds:
                assert kinds["reported_at"] == "TIMESTAMP"
    for spec in ALL_TABLES.values():  # every replaced window is a DATE column
        if spec.partition_col:
            assert spec.col(spec.partition_col).type == "DATE", spec.name


def test_multi_statement_writes_are_one_transaction():
    captured = []

    class Recording(BigQueryWarehouse):
        def _run(self, client, sql, params):
            captured.append((sql, [(p.name, p.type_) for p in parameters(sql, params)]))

    warehouse = Recording(project="p", dataset="d")
    warehouse._script(
        None,
        [
            "DELETE FROM fact_payments WHERE event_date >= @start AND event_date < @end",
            "INSERT INTO fact_payments (event_id) SELECT event_id FROM `p.d._scratch`",
        ],
        {"start": date(2023, 1, 1), "end": date(2023, 1, 2)},
    )
    sql, params = captured[0]
    assert sql.startswith("BEGIN TRANSACTION;") and sql.rstrip().endswith("COMMIT TRANSACTION;")
    assert params == [("start", "DATE"), ("end", "DATE")]


def test_a_big_window_is_one_script_and_a_parameter_never_takes_two_values():
    """A script shares one parameter set: a window is never split into sub-windows on BigQuery
    (each would need its own @start and @end), and statements that disagree on a parameter are
    refused rather than run with the last value."""
    from commercepulse.defs.table_assets import window_statements

    warehouse = BigQueryWarehouse(project="p", dataset="d")
    year_of_events = 20_000 * 365
    parts = -(-year_of_events // warehouse.statement_events())
    assert parts == 1  # as window_asset derives it from the staged count

    class Recording(BigQueryWarehouse):
        def client(self):
            return nullcontext(None)

        def _script(self, client, texts, params):
            pass

    split = window_statements(wsql.FACT_PAYMENTS, date(2023, 1, 1), date(2023, 3, 1), "r", 2)
    with pytest.raises(ValueError, match="@start cannot be both"):
        Recording(project="p", dataset="d").execute(split)
    Recording(project="p", dataset="d").execute(
        window_statements(wsql.FACT_PAYMENTS, date(2023, 1, 1), date(2023, 3, 1), "r", 1)
    )


def test_every_statement_translates_with_explicit_insert_columns():
    for name, statements in {
        **wsql.WINDOW_STATEMENTS,
        **wsql.KPI_STATEMENTS,
        **GOLD_STATEMENTS,
    }.items():
        for statement in statements:
            text = to_bigquery(statement)
            assert "BY NAME" not in text and "FILTER(" not in text and "$" not in text, name
            if text.startswith("INSERT INTO"):
                table = text.split()[2]
                columns = text[text.index("(") + 1 : text.index(")")].split(", ")
                assert set(columns) <= set(ALL_TABLES[table].names), (name, columns)
    merge = to_bigquery(wsql.FACT_ORDERS[0])
    assert (
        merge.startswith("MERGE INTO fact_orders")
        and "s.last_event_time >= t.last_event_time" in merge
    )


@pytest.mark.slow  # the emulator world: `make test-slow` (CI runs it)
def test_daily_report_and_summary_read_bigquery_like_duckdb(
    bq_env, datapack_world, capsys, tmp_path
):
    """The report of a day written from BigQuery carries the same checks and KPIs as DuckDB's."""
    import json

    from rich.console import Console

    from commercepulse.reports.writer import write_day_report
    from commercepulse.summary import print_summary

    settings, warehouse, result = bq_env
    day = date(2025, 1, 15)
    db = get_database(settings.mongo_uri, settings.mongo_db)
    folder = write_day_report(db, warehouse, day, settings.reports_dir, settings)
    ours = json.loads((folder / "quality.json").read_text())
    duck = datapack_world[0]
    duck_folder = write_day_report(
        get_database(duck.mongo_uri, duck.mongo_db),
        warehouse_of(duck),
        day,
        tmp_path / "duckdb_reports",
        duck,
    )
    theirs = json.loads((duck_folder / "quality.json").read_text())
    for report in (
        ours,
        theirs,
    ):  # when written, and a digest of the content (floats in their last bit)
        report.pop("generated_at")
        report.pop("content_sha256")
    assert rounded(ours) == rounded(theirs)  # averages may differ in the last bit between engines
    assert {p.name for p in folder.glob("*.svg")} == {
        "revenue.svg",
        "quality_rates.svg",
        "payment_success.svg",
        "vendor_feed.svg",
    }
    print_summary(settings, result, Console(file=None, force_terminal=False, width=200), warehouse)
    assert "BigQuery dataset test-proj." in capsys.readouterr().out


@pytest.mark.slow  # `dagster dev` on the emulator: `make test-slow` (CI runs it)
@pytest.mark.timeout(1200)
def test_bigquery_backfill_split_into_concurrent_runs_equals_the_duckdb_run(
    bq_endpoint, bq_env, datapack_world, postgres_instances, tmp_path
):
    """The scale-out path: WAREHOUSE=bigquery, the PostgreSQL instance, `dagster dev` with its
    daemon. A backfill of 90 business days, launched as the UI does, is split by the multi-run
    policy into runs of 30 days that the queue executes two at a time (multiprocess executor);
    the refresh sensor follows it. Every fact, dim and KPI table still equals the single-run
    DuckDB result row for row."""
    import shutil

    from commercepulse.definitions import build_definitions
    from commercepulse.defs.partitions import RANGE_END, RANGE_START
    from commercepulse.defs.resources import build_resources, run_topology
    from commercepulse.instance.home import dagster_yaml
    from commercepulse.runner import business_days
    from commercepulse_tests.dagster_dev import dagster_dev, launch_backfill, wait_for
    from commercepulse_tests.harness import settings_env

    settings, _, _ = bq_env
    data = tmp_path / "data"  # the rates only: nothing new for the landing sensors to land
    data.mkdir()
    for fx in settings.data_dir.glob("fx_rates_*.csv"):
        shutil.copy(fx, data)
    dataset = settings.bq_dataset
    bq = settings.model_copy(
        update={
            "warehouse": "bigquery",
            "bq_project": PROJECT,
            "bq_dataset": dataset,
            "data_dir": data,
            "reports_dir": tmp_path / "reports",
            "backfill_run_days": 30,
            "max_concurrent_runs": 2,
        }
    )
    topology = run_topology(bq)
    assert (topology.days_per_run, topology.parallel_steps, bq.concurrent_runs) == (30, 2, 2)
    database = f"cp_scale_{uuid.uuid4().hex[:8]}"
    postgres_instances._sql(f"CREATE DATABASE {database} TEMPLATE {postgres_instances.TEMPLATE}")
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(dagster_yaml("postgres", None, bq.concurrent_runs))
    env = {
        **settings_env(bq),
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_URL": postgres_instances._database_url(database),
        "BQ_PROJECT": PROJECT,
        "BQ_DATASET": dataset,
        "BQ_LOCATION": "US",
        "BQ_EMULATOR_ENDPOINT": bq_endpoint,
        "BACKFILL_RUN_DAYS": "30",
        "MAX_CONCURRENT_RUNS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    days = [d for d in business_days(get_database(settings.mongo_uri, settings.mongo_db))
            if "2023-03-01" <= d < "2023-05-30"]  # fmt: skip
    assert len(days) == 90
    defs = build_definitions(
        build_resources(bq, emulator_warehouse(bq_endpoint, dataset)), {}, topology
    )
    assets = sorted(
        k.to_user_string()
        for k in defs.resolve_job_def("business_day_job").asset_layer.executable_asset_keys
    )
    with dagster_dev(["-m", "commercepulse_tests.bq_location"], env, tmp_path / "dev.log") as url:
        started = time.time()
        backfill = launch_backfill(url, assets, days)
        os.environ["DAGSTER_PG_URL"] = env["DAGSTER_PG_URL"]
        try:
            with dg.DagsterInstance.from_config(str(home)) as instance:

                def runs(**filters) -> list:
                    return instance.get_run_records(filters=dg.RunsFilter(**filters))

                done = wait_for(
                    "the backfill's runs",
                    lambda: (
                        instance.get_backfill(backfill).status.value != "REQUESTED"
                        and runs(tags={"dagster/backfill": backfill})
                    ),
                    timeout=900,
                    every=2,
                )
                wait_for(
                    "the refresh after the backfill",
                    lambda: [
                        r
                        for r in runs(job_name="refresh_job")
                        if r.dagster_run.is_finished and r.create_timestamp.timestamp() > started
                    ],
                    timeout=600,
                    every=2,
                )
                everything = runs()
        finally:
            del os.environ["DAGSTER_PG_URL"]
    spans = sorted((r.start_time, r.end_time) for r in done)
    ranges = {
        (r.dagster_run.tags[RANGE_START], r.dagster_run.tags[RANGE_END]) for r in done
    }  # the multi-run policy split the backfill: 90 days in runs of at most 30
    assert len(done) >= 3 and all(
        (date.fromisoformat(b) - date.fromisoformat(a)).days < 30 for a, b in ranges
    )
    assert {d for a, b in ranges for d in days if a <= d <= b} == set(days)
    assert all(r.dagster_run.is_success for r in everything), [
        (r.dagster_run.job_name, r.dagster_run.status) for r in everything
    ]
    assert any(a[0] < b[1] and b[0] < a[1] for a, b in zip(spans, spans[1:]))  # side by side
    duck = DuckDBWarehouse(path=str(datapack_world[0].duckdb_path))
    warehouse = emulator_warehouse(bq_endpoint, dataset)
    for name in [n for n in COMPARED if n != "kpi_late_arrivals" and n not in PLATFORM_GOLD]:
        left, right = comparable(duck.table(name), name), comparable(warehouse.table(name), name)
        assert left == right, name


@pytest.mark.slow  # the emulator world: `make test-slow` (CI runs it)
def test_bigquery_records_its_snapshot_and_kpi_reads_equal_the_duckdb_snapshot(
    bq_env, datapack_world
):
    """On BigQuery the dataset is what readers read: the refresh records the same snapshot_info
    row (its location the dataset), and `commercepulse kpi`'s read returns the DuckDB
    snapshot's rows."""
    from commercepulse.read.kpi_reads import kpi_sql
    from commercepulse.read.readers import open_reader

    settings, warehouse, _ = bq_env
    duck = DuckDBWarehouse(path=str(datapack_world[0].duckdb_path))
    # one row per refresh: the main job's first, then those of other tests of this world (run
    # on instances of their own, without its landings)
    info = warehouse.table("snapshot_info").sort_values("snapshot_id")
    theirs = duck.table("snapshot_info").sort_values("snapshot_id")
    assert (info["location"] == f"BigQuery dataset {warehouse.dataset_id}").all()
    for column in ("latest_landing_partition", "last_business_day"):
        assert str(info[column].iat[0])[:10] == str(theirs[column].iat[0])[:10]
    sql, params = kpi_sql(
        "kpi_vendor_payment_success", date(2023, 1, 1), date(2023, 3, 31), "vendor_b"
    )
    rows = []
    with open_reader(warehouse) as reader:
        result = reader.rows(reader.native(sql), params)
        for batch in result.batches:
            rows.extend(batch)
    expected = duck.query(sql, params)
    assert result.columns == list(expected.columns)
    assert len(rows) == len(expected) > 0
    for row, want in zip(rows, expected.itertuples(index=False), strict=True):
        assert str(row[0])[:10] == str(want[0])[:10]
        assert row[1:4] == tuple(want[1:4])
        assert row[4] == pytest.approx(want[4])


@pytest.mark.slow  # the emulator world: `make test-slow` (CI runs it)
def test_bigquery_kpi_history_and_as_of_equal_duckdb(bq_env, datapack_world):
    """kpi_history on BigQuery holds the same versions as on DuckDB (values compared as
    numbers: the engines may differ in a float's last bits), and `kpi --as-of` now returns the
    same rows from both; kpi_restatements and kpi_vendor_lateness match too."""
    import orjson

    from commercepulse.read.kpi_reads import as_of_sql, state
    from commercepulse.read.readers import open_reader
    from commercepulse.warehouse.kpi_history import same_values

    settings, warehouse, _ = bq_env
    duck = DuckDBWarehouse(path=str(datapack_world[0].duckdb_path))
    counts = "SELECT kpi, count(*) AS n FROM kpi_history GROUP BY kpi ORDER BY kpi"
    ours, theirs = warehouse.query(counts), duck.query(counts)
    assert ours["kpi"].tolist() == theirs["kpi"].tolist()
    assert ours["n"].tolist() == theirs["n"].tolist()
    moment = datetime.now(UTC)
    for kpi in ours["kpi"]:
        sql, params = as_of_sql(kpi, moment, None, None, None)
        with open_reader(warehouse) as reader:
            mine = state(kpi, reader.rows(reader.native(sql), params).batches)
        duck_rows = duck.query(sql, params)
        want = {
            k: orjson.loads(v)
            for k, v in zip(duck_rows["row_key"], duck_rows["row_values"], strict=True)
        }
        assert mine.keys() == want.keys(), kpi
        assert all(same_values(mine[k], want[k]) for k in want), kpi
    assert len(warehouse.table("kpi_restatements")) == len(duck.table("kpi_restatements"))
    lateness = comparable(warehouse.table("kpi_vendor_lateness"), "kpi_vendor_lateness")
    assert lateness == comparable(duck.table("kpi_vendor_lateness"), "kpi_vendor_lateness")


@pytest.mark.slow  # the emulator: `make test-slow` (CI runs it)
def test_a_dataset_of_an_earlier_version_gets_numeric_money_in_place(bq_endpoint):
    """FLOAT64 money in a dataset an earlier version wrote becomes NUMERIC on first use, each
    value the kobo it stood for, partitioning and descriptions kept; the personal column it
    wrote in fact_platform_orders is dropped."""
    from google.cloud import bigquery

    from commercepulse.warehouse.bigquery_warehouse import schema, table_definition
    from commercepulse.warehouse.schema import ALL_TABLES

    dataset = f"cp_{uuid.uuid4().hex[:8]}"
    warehouse = emulator_warehouse(bq_endpoint, dataset)
    spec = ALL_TABLES["kpi_daily_revenue"]
    with warehouse.connect() as client:
        client.create_dataset(bigquery.Dataset(f"{PROJECT}.{dataset}"), exists_ok=True)
        old = table_definition(spec, f"{PROJECT}.{dataset}")
        old.schema = [
            bigquery.SchemaField(f.name, "FLOAT64" if f.field_type == "NUMERIC" else f.field_type)
            for f in schema(spec)
        ]
        client.create_table(old)
        orders = table_definition(
            ALL_TABLES["fact_platform_orders"], f"{PROJECT}.{dataset}"
        )  # with the e-mail column an earlier version wrote
        orders.schema = [*schema(ALL_TABLES["fact_platform_orders"]), bigquery.SchemaField(
            "customer_email", "STRING"
        )]  # fmt: skip
        client.create_table(orders)
        client.query(
            f"INSERT INTO `{PROJECT}.{dataset}.kpi_daily_revenue` "
            "(date, gross_revenue_ngn, refunds_ngn, net_revenue_ngn) "
            "VALUES (DATE '2025-01-01', 0.1 + 0.2, 0.1, 0.1 + 0.2 - 0.1)"
        ).result()
    rows = warehouse.query("SELECT gross_revenue_ngn, net_revenue_ngn FROM kpi_daily_revenue")
    assert rows.iloc[0].tolist() == [0.3, 0.2]
    with warehouse.connect() as client:
        table = client.get_table(f"{PROJECT}.{dataset}.kpi_daily_revenue")
    types = {f.name: f.field_type for f in table.schema}
    assert types["net_revenue_ngn"] == "NUMERIC" and types["gross_revenue_ngn"] == "NUMERIC"
    assert {f.name: f.description for f in table.schema}["net_revenue_ngn"]
    with warehouse.connect() as client:
        names = {
            f.name for f in client.get_table(f"{PROJECT}.{dataset}.fact_platform_orders").schema
        }
    assert "customer_email" not in names and "order_id" in names
