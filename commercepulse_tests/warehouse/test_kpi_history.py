"""Every KPI as of any moment: versions are recorded exactly when a row appears, changes or
goes; `kpi --as-of T` returns what the platform showed at T (its materialization metadata of
that moment is the oracle), and `--since` lists exactly what a restatement changed."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commercepulse.read.kpi_reads import as_of_sql, differences, state, versions_as_rows
from commercepulse.read.readers import SnapshotReader
from commercepulse.warehouse.kpi_history import changes
from commercepulse.warehouse.schema import KPIS
from commercepulse_tests.harness import definitions, late_payment, run_job, warehouse_of

AOV = KPIS["kpi_aov"]


def aov_frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["date", "vendor", "gross_revenue_ngn"])
    frame["date"] = pd.to_datetime(frame["date"])
    for column in AOV.names:
        if column not in frame:
            frame[column] = 1.0 if column != "paid_orders" else 1
    return frame[AOV.names]


def recorded(frame: pd.DataFrame) -> pd.DataFrame:
    """The newest versions `changes` would be compared against, as if `frame` was recorded."""
    found = changes(AOV, frame, pd.DataFrame(columns=["row_key", "removed", "row_values"]))
    return pd.DataFrame(
        [(key, False, text) for key, _, text in found], columns=["row_key", "removed", "row_values"]
    )


ROWS = st.lists(
    st.tuples(
        st.sampled_from(["2025-01-01", "2025-01-02", "2025-01-03"]),
        st.sampled_from(["vendor_a", "vendor_b"]),
        st.floats(-1e9, 1e9, allow_nan=False).map(lambda x: round(x, 2)),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda r: (r[0], r[1]),
)


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, seed=st.integers(0, 1000))
def test_no_version_without_a_change(rows, seed):
    """Row order and float noise of a re-run (far below a kobo) record nothing."""
    frame = aov_frame(rows)
    newest = recorded(frame)
    shuffled = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    noisy = shuffled.assign(gross_revenue_ngn=shuffled["gross_revenue_ngn"] * (1 + 1e-15))
    assert changes(AOV, noisy, newest) == []


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, data=st.data())
def test_a_version_for_each_changed_new_or_removed_row(rows, data):
    frame = aov_frame(rows)
    newest = recorded(frame)
    n = len(frame)
    changed = data.draw(st.sets(st.integers(0, n - 1)))
    dropped = data.draw(st.sets(st.integers(0, n - 1)).map(lambda s: s - changed))
    after = frame.copy()
    after.loc[list(changed), "gross_revenue_ngn"] += 0.01
    after = after.drop(index=list(dropped))
    extra = aov_frame([("2025-02-01", "vendor_c", 5.0)])
    after = pd.concat([after, extra], ignore_index=True)
    found = changes(AOV, after, newest)
    keys = lambda idx: {f"{frame.loc[i, 'date'].date()}|{frame.loc[i, 'vendor']}" for i in idx}  # noqa: E731
    assert {k for k, v, _ in found if v is None} == keys(dropped)
    assert {k for k, v, _ in found if v is not None} == keys(changed) | {"2025-02-01|vendor_c"}


def test_as_of_returns_what_the_platform_showed(datapack_copy, instance, tmp_path):
    """A late payment restates one day. As of the refresh's materialization, `kpi --as-of`
    returns the values its metadata showed; as of just before, the table as it was; between
    the two, exactly the restated day's columns changed."""
    settings_, _ = datapack_copy
    wh = warehouse_of(settings_)
    day = "2025-01-12"
    before = wh.table("kpi_daily_revenue")
    payment = late_payment("late-pay-asof", day, 777, ingested_at="2025-01-16T13:00:00Z")
    folder = tmp_path / "data" / "live_events" / "2025-01-16"
    folder.mkdir(parents=True)
    (folder / "events.jsonl").write_text(json.dumps(payment) + "\n")
    shutil.copy(settings_.data_dir / "fx_rates_2023.csv", tmp_path / "data")
    settings_ = settings_.model_copy(update={"data_dir": tmp_path / "data"})
    defs = definitions(settings_)
    run_job(defs, "ingest_job", instance, "2025-01-16")
    run_job(defs, "business_day_job", instance, day)
    earlier = datetime.now(UTC)
    run_job(defs, "refresh_job", instance)
    record = instance.fetch_materializations(dg.AssetKey("kpi_daily_revenue"), limit=1).records[0]
    shown = record.asset_materialization.metadata["latest"].value
    moment = datetime.fromtimestamp(record.timestamp, UTC)

    reader = SnapshotReader(Path(wh.readers_location()))
    try:

        def at(when: datetime) -> dict[str, dict]:
            sql, params = as_of_sql("kpi_daily_revenue", when, None, None, None)
            return state("kpi_daily_revenue", reader.rows(sql, params).batches)

        now = at(moment)
        # the oracle: the Markdown table of the materialization's latest days
        for line in shown.splitlines()[2:]:
            cells = [c.strip() for c in line.strip("|").split("|")]
            assert round(now[cells[0]]["net_revenue_ngn"], 2) == float(cells[3].replace(",", ""))
        then = at(earlier)
        assert {k: v["net_revenue_ngn"] for k, v in then.items()} == pytest.approx(
            {
                str(d.date()): v
                for d, v in zip(before["date"], before["net_revenue_ngn"], strict=True)
            }
        )
        diff = differences("kpi_daily_revenue", then, now)
        assert [(row[0], row[1], row[2]) for row in diff] == [
            (day, "changed", "gross_revenue_ngn"),
            (day, "changed", "net_revenue_ngn"),
        ]
        assert diff[0][4] - diff[0][3] == pytest.approx(777)
        # the same through the rows a reader streams
        sql, params = as_of_sql("kpi_daily_revenue", moment, None, None, None)
        rows = [
            r
            for batch in versions_as_rows("kpi_daily_revenue", reader.rows(sql, params).batches)
            for r in batch
        ]
        assert [r[0] for r in rows] == sorted(now)
        assert at(earlier - timedelta(days=3650)) == {}
    finally:
        reader.close()
    assert np.isclose(
        wh.table("kpi_daily_revenue").set_index("date").loc[day, "gross_revenue_ngn"],
        before.set_index("date").loc[day, "gross_revenue_ngn"] + 777,
    )
