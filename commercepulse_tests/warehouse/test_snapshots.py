"""Read snapshots and the analysts' commands: a snapshot holds exactly what its refresh left,
readers never block a writer nor see a half-published file, old snapshots are pruned without
breaking a reader, and `query` / `kpi` read, stream and refuse what they must."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from commercepulse.defs.snapshots.assets import PUBLISHED_AFTER
from commercepulse.read.output import write_rows
from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse
from commercepulse.warehouse.schema import ALL_TABLES
from commercepulse.warehouse.snapshots import LATEST, published, snapshot_info
from commercepulse_tests.harness import definitions, settings_env, warehouse_of
from commercepulse_tests.test_cli_errors import cli

KPI_TABLES = sorted(n for n in PUBLISHED_AFTER if n.startswith("kpi_"))


def publish(warehouse: DuckDBWarehouse, run_id: str) -> str:
    info = snapshot_info(
        pd.DataFrame({"latest_ingested_at": [pd.NaT], "last_business_day": [pd.NaT]}),
        run_id,
        datetime.now(UTC),
        None,
    )
    return warehouse.publish_snapshot(info)


def test_the_snapshot_follows_every_whole_history_table(env):
    """The snapshot is published after whichever whole-history table a refresh recomputes: its
    dependencies are exactly the assets the refresh selects (nothing added to the refresh goes
    unseen)."""
    defs = definitions(env)
    graph = defs.resolve_asset_graph()
    whole = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).tags.get("commercepulse/scope") == "whole_history"
    } - {"warehouse_snapshot"}
    node = graph.get(dg.AssetKey("warehouse_snapshot"))
    assert {k.to_user_string() for k in node.parent_keys} == whole


def test_the_data_pack_run_publishes_what_its_refresh_left(datapack_env, datapack):
    settings, _ = datapack_env
    warehouse = warehouse_of(settings)
    latest = Path(warehouse.readers_location())
    assert latest.name == LATEST and latest.exists()
    files = published(latest.parent)
    assert files and files[-1].samefile(latest)
    con = duckdb.connect(str(latest), read_only=True)
    try:
        info = con.execute("SELECT * FROM snapshot_info ORDER BY snapshot_id").df()
        newest = info.iloc[-1]
        assert newest["location"] == str(files[-1])
        # the refresh that published it, and the newest landing before it: the data pack's last
        # live day folder (read from the folder, not from the platform)
        live_days = sorted(p.name for p in (datapack / "live_events").iterdir() if p.is_dir())
        assert newest["latest_landing_partition"] == live_days[-1]
        assert (
            str(newest["last_business_day"])[:10]
            == str(warehouse.query("SELECT max(date) AS d FROM kpi_daily_revenue")["d"].iat[0])[:10]
        )
        for name in KPI_TABLES:
            mine = con.execute(f"SELECT * FROM {name}").df()
            theirs = warehouse.query(f"SELECT * FROM {name}")
            key = list(ALL_TABLES[name].key)
            pd.testing.assert_frame_equal(
                mine.sort_values(key).reset_index(drop=True),
                theirs.sort_values(key).reset_index(drop=True),
                check_dtype=False,
            )
    finally:
        con.close()


READER = """
import duckdb, sys, time, pathlib
con = duckdb.connect(sys.argv[1], read_only=True)
first = con.execute("SELECT count(*) FROM kpi_daily_revenue").fetchone()[0]
print(first, flush=True)
release = pathlib.Path(sys.argv[2])
while not release.exists():
    time.sleep(0.05)
print(con.execute("SELECT count(*) FROM kpi_daily_revenue").fetchone()[0], flush=True)
"""


def test_a_reader_holding_a_snapshot_blocks_no_writer_and_keeps_its_snapshot(tmp_path):
    """A reader process keeps a snapshot open while the warehouse is written and published four
    times (its own file pruned meanwhile): every write completes while it still holds its
    connection, it keeps reading the figures it opened, and a new reader sees the newest."""
    warehouse = DuckDBWarehouse(path=str(tmp_path / "wh.duckdb"), snapshots_keep=2)
    day = pd.Timestamp("2025-01-01")
    warehouse.replace_table(
        "kpi_daily_revenue",
        pd.DataFrame(
            {
                "date": [day],
                "gross_revenue_ngn": [1.0],
                "refunds_ngn": [0.0],
                "net_revenue_ngn": [1.0],
            }
        ),
    )
    latest = Path(publish(warehouse, "run-0000"))
    assert latest.exists()
    release = tmp_path / "release"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(tmp_path / "snapshots" / LATEST), str(release)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "1"
        for n in range(2, 6):
            frame = pd.DataFrame(
                {
                    "date": pd.date_range(day, periods=n),
                    "gross_revenue_ngn": 1.0,
                    "refunds_ngn": 0.0,
                    "net_revenue_ngn": 1.0,
                }
            )
            warehouse.replace_table("kpi_daily_revenue", frame)
            publish(warehouse, f"run-{n:04d}")
            assert reader.poll() is None  # still holding its snapshot: the writer never waited
        assert len(published(tmp_path / "snapshots")) == 2
        fresh = duckdb.connect(str(tmp_path / "snapshots" / LATEST), read_only=True)
        assert fresh.execute("SELECT count(*) FROM kpi_daily_revenue").fetchone()[0] == 5
        assert fresh.execute("SELECT count(*) FROM snapshot_info").fetchone()[0] == 5
        fresh.close()
    finally:
        release.touch()
        out, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0
    assert out.strip() == "1"  # the snapshot it opened, unchanged (its file pruned since)


def test_a_publisher_killed_mid_copy_leaves_readers_the_previous_snapshot(tmp_path):
    """A copy that never finished is a temporary file readers never open; the next publication
    removes it."""
    warehouse = DuckDBWarehouse(path=str(tmp_path / "wh.duckdb"))
    publish(warehouse, "run-aaaa")
    folder = tmp_path / "snapshots"
    (folder / "20990101T000000000000Z-deadbeef.tmp").write_bytes(b"half a file")
    before = published(folder)
    assert [p.name for p in before] != [] and not any(p.suffix == ".tmp" for p in before)
    publish(warehouse, "run-bbbb")
    assert not list(folder.glob("*.tmp"))
    assert len(published(folder)) == 2


def test_rows_are_written_as_they_come():
    """The first batch is out before the second is read: a big result never waits whole."""
    out = io.StringIO()
    seen: list[str] = []

    def batches():
        yield [(1, "a"), (2, None)]
        seen.append(out.getvalue())
        yield [(3, "c")]

    assert write_rows(["n", "s"], batches(), "csv", out) == 3
    assert seen == ["n,s\n1,a\n2,\n"]
    assert out.getvalue().endswith("3,c\n")
    lines = io.StringIO()
    write_rows(["n", "s"], iter([[(1, "a")]]), "json", lines)
    assert json.loads(lines.getvalue()) == {"n": 1, "s": "a"}


@pytest.fixture
def published_env(datapack_copy):
    """A private copy of the data-pack world with its own published snapshot."""
    settings, _ = datapack_copy
    publish(warehouse_of(settings), "copy-run")
    return settings, settings_env(settings)


def test_kpi_and_query_read_the_snapshot_while_the_warehouse_is_held(published_env):
    """`kpi` and `query` answer while another process holds the warehouse file for writing, and
    their rows equal the warehouse's own."""
    settings, env = published_env
    warehouse = warehouse_of(settings)
    expected = warehouse.query(
        "SELECT date, net_revenue_ngn FROM kpi_daily_revenue WHERE date BETWEEN '2024-01-01' "
        "AND '2024-01-03' ORDER BY date"
    )
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "time.sleep(120)",
            str(settings.duckdb_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        out = cli(
            [
                "kpi",
                "kpi_daily_revenue",
                "--from",
                "2024-01-01",
                "--to",
                "2024-01-03",
                "--format",
                "csv",
            ],
            env,
        )
        assert out.returncode == 0, out.stderr
        got = pd.read_csv(io.StringIO(out.stdout))
        assert list(got["date"]) == [str(d.date()) for d in expected["date"]]
        assert list(got["net_revenue_ngn"]) == pytest.approx(list(expected["net_revenue_ngn"]))
        assert "snapshot " in out.stderr
        out = cli(
            [
                "query",
                "SELECT vendor, count(*) AS n FROM fact_orders GROUP BY vendor ORDER BY vendor",
                "--format",
                "json",
            ],
            env,
        )
        assert out.returncode == 0, out.stderr
        assert holder.poll() is None  # the writer's hold was never in the way
        assert time.monotonic() - started < 110
    finally:
        holder.kill()
        holder.wait()
    counts = warehouse.query(
        "SELECT vendor, count(*) AS n FROM fact_orders GROUP BY vendor ORDER BY vendor"
    )
    assert [json.loads(line) for line in out.stdout.splitlines()] == [
        {"vendor": v, "n": int(n)} for v, n in zip(counts["vendor"], counts["n"], strict=True)
    ]


REFUSED = [  # (arguments, words the one error line carries)
    (
        ["query", "INSERT INTO kpi_daily_revenue VALUES ('2024-01-01', 1, 1, 1)"],
        ["INSERT", "read-only"],
    ),
    (["query", "DROP TABLE fact_orders"], ["DROP"]),
    (["query", "COPY fact_orders TO 'x.csv'"], ["COPY"]),
    (["query", "ATTACH 'other.duckdb'"], ["ATTACH"]),
    (["query", "SELECT 1; SELECT 2"], ["one statement"]),
    (["query", "SELECT * FROM no_such_table"], ["no_such_table"]),
    (["query", "SELEC 1"], ["syntax error"]),
    (["query", "SELECT * FROM read_csv('/etc/passwd')"], ["disabled"]),
    (["kpi", "kpi_nope"], ["no KPI", "kpi_daily_revenue"]),
    (["kpi", "kpi_daily_revenue", "--vendor", "vendor_a"], ["not per vendor", "kpi_aov"]),
    (["kpi", "kpi_top_products", "--from", "2024-01-01"], ["no day column"]),
    (["kpi", "kpi_daily_revenue", "--from", "yesterday"], ["--from", "YYYY-MM-DD"]),
    (["kpi", "kpi_daily_revenue", "--format", "xml"], ["--format"]),
]


def test_what_is_refused_is_one_line_and_exit_2(datapack_env, monkeypatch):
    """In process (typer's runner) for speed; the subprocess test above covers the real CLI. On
    the shared data-pack world's own snapshot: nothing here may write (checked at the end)."""
    from typer.testing import CliRunner

    from commercepulse.cli import app

    settings, _ = datapack_env
    env = settings_env(settings)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = (
        settings.duckdb_path.stat().st_mtime,
        len(warehouse_of(settings).table("fact_orders")),
    )
    runner = CliRunner()
    for args, words in REFUSED:
        out = runner.invoke(app, args)
        assert out.exit_code == 2, (args, out.output)
        errors = [line for line in out.output.splitlines() if line.startswith("error: ")]
        assert (
            len(errors) == 1 and out.exception is None or isinstance(out.exception, SystemExit)
        ), (
            args,
            out.output,
        )
        for word in words:
            assert word in errors[0], (args, word, errors[0])
    after = (settings.duckdb_path.stat().st_mtime, len(warehouse_of(settings).table("fact_orders")))
    assert after == before
