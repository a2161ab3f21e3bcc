"""Provisional or final: each vendor's lateness and the days it makes final, computed here
straight from the data pack's live file; and on a world with late data for both kinds of day,
a late payment for a final day is a `final_day_restated` finding on that day alone, one for a
provisional day is not."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commercepulse.warehouse.lateness import lateness_of
from commercepulse_tests import independent as ind
from commercepulse_tests.harness import (
    definitions,
    evaluations,
    late_payment,
    run_job,
    warehouse_of,
)


def expected_lateness(datapack, quantile_index=-1) -> dict[str, tuple[float, date]]:
    """{vendor: (lag hours, final_through)}: per vendor and event day (UTC), the last first
    arrival; the day's lag past its end; the largest (the 0.99 quantile of under 100 days);
    the last day whose end + lag is not after the vendor's newest arrival."""
    last: dict[str, dict[date, datetime]] = defaultdict(dict)
    for event in ind.first_arrivals(datapack).values():
        day = ind.when(event["event_time"]).astimezone(UTC).date()
        arrived = ind.when(event["ingested_at"])
        seen = last[event["vendor"]].get(day)
        last[event["vendor"]][day] = max(seen, arrived) if seen else arrived
    out = {}
    for vendor, days in last.items():
        lags = sorted(
            max(
                0.0,
                (
                    t - datetime.combine(d + timedelta(days=1), datetime.min.time(), UTC)
                ).total_seconds()
                / 3600,
            )
            for d, t in days.items()
        )
        lag = lags[quantile_index]
        mark = max(days.values())
        through = (mark - timedelta(hours=lag)).date() - timedelta(days=1)
        out[vendor] = (lag, through)
    return out


def test_lateness_and_final_days_of_the_data_pack(datapack_env, datapack):
    settings_, _ = datapack_env
    wh = warehouse_of(settings_)
    table = wh.table("kpi_vendor_lateness").set_index("vendor")
    want = expected_lateness(datapack)
    assert set(table.index) == set(want)
    for vendor, (lag, through) in want.items():
        assert table.loc[vendor, "lag_hours"] == pytest.approx(lag, abs=1e-3)
        assert table.loc[vendor, "final_through"].date() == through
    overall = min(t for _, t in want.values())
    revenue = wh.table("kpi_daily_revenue")
    assert (revenue["is_final"] == (revenue["date"].dt.date <= overall)).all()
    per_vendor = wh.table("kpi_vendor_payment_success")
    limit = per_vendor["vendor"].map({v: t for v, (_, t) in want.items()})
    assert (per_vendor["is_final"] == (per_vendor["date"].dt.date <= limit)).all()
    assert revenue["is_final"].any() and not revenue["is_final"].all()


def test_reports_and_the_overview_say_which_days_are_provisional(datapack_env, tmp_path):
    from commercepulse.mongo.client import get_database
    from commercepulse.reports.overview import write_overview
    from commercepulse.reports.writer import write_day_report

    settings_, _ = datapack_env
    wh = warehouse_of(settings_)
    revenue = wh.table("kpi_daily_revenue")
    final = revenue[revenue["is_final"]]["date"].max().date()
    provisional = revenue[~revenue["is_final"]]["date"].min().date()
    db = get_database(settings_.mongo_uri, settings_.mongo_db)
    for day in (final, provisional):
        write_day_report(db, wh, day, tmp_path, settings_)
    said = {
        day: "Provisional:" in (tmp_path / str(day) / "report.html").read_text()
        for day in (final, provisional)
    }
    assert said == {final: False, provisional: True}
    overview = write_overview(tmp_path, "http://ui").read_text()
    assert (
        "Provisional days" in overview
        and str(provisional) in overview.split("Provisional days")[1][:400]
    )
    assert str(final) not in overview.split("Provisional days")[1].split("</p>")[0]


DAYS = st.lists(
    st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 20), st.integers(0, 200)),
    min_size=1,
    max_size=30,
    unique_by=lambda r: (r[0], r[1]),
)


@settings(max_examples=80, deadline=None)
@given(rows=DAYS)
def test_a_final_day_is_exactly_one_whose_end_plus_the_lag_has_passed(rows):
    """For any event days: every day through final_through ends lag hours before the
    watermark, the next does not; and a vendor's figures never move with another's data."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    frame = pd.DataFrame(
        [
            (v, (start + timedelta(days=d)).date(), start + timedelta(days=d + 1, hours=h))
            for v, d, h in rows
        ],
        columns=["vendor", "event_date", "last_arrival"],
    )
    frame["watermark"] = frame.groupby("vendor")["last_arrival"].transform("max")
    out = lateness_of(frame, 0.99, 28).set_index("vendor")
    for vendor, row in out.iterrows():
        mark, lag = row["watermark"], timedelta(hours=row["lag_hours"])
        through = row["final_through"].date()
        end = datetime.combine(through + timedelta(days=1), datetime.min.time(), UTC)
        assert end + lag <= mark < end + timedelta(days=1) + lag
        alone = lateness_of(frame[frame["vendor"] == vendor], 0.99, 28).set_index("vendor")
        assert alone.loc[vendor].equals(out.loc[vendor])


def test_a_late_event_for_a_final_day_is_a_finding_and_for_a_provisional_day_is_not(
    datapack_copy, instance, tmp_path
):
    """Late payments for a final and a provisional day: `final_day_restated` names the final
    day alone; kpi_restatements holds every value of every KPI that moved, with its cause."""
    settings_, _ = datapack_copy
    wh = warehouse_of(settings_)
    revenue = wh.table("kpi_daily_revenue").set_index("date")
    final_day = str(revenue[revenue["is_final"]].index.max().date())
    provisional_day = str(revenue[~revenue["is_final"]].index.min().date() + timedelta(days=3))
    assert revenue.loc[provisional_day, "is_final"] == False  # noqa: E712 - a numpy bool
    folder = tmp_path / "data" / "live_events" / "2025-01-16"
    folder.mkdir(parents=True)
    (folder / "events.jsonl").write_text(
        json.dumps(late_payment("late-final", final_day, 1111))
        + "\n"
        + json.dumps(late_payment("late-provisional", provisional_day, 2222))
        + "\n"
    )
    shutil.copy(settings_.data_dir / "fx_rates_2023.csv", tmp_path / "data")
    settings_ = settings_.model_copy(update={"data_dir": tmp_path / "data"})
    defs = definitions(settings_)
    before = {name: wh.table(name) for name in ("kpi_daily_revenue", "kpi_vendor_payment_success")}
    run_job(defs, "ingest_job", instance, "2025-01-16")
    run_job(defs, "business_day_job", instance, final_day, provisional_day)
    result = run_job(defs, "refresh_job", instance, raise_on_error=False)
    verdict = evaluations(result)["kpi_daily_revenue:final_day_restated"]
    assert not verdict.passed
    assert verdict.metadata["failing_days"].value == [final_day]
    rows = verdict.metadata.get("findings") or verdict.metadata.get("rows")
    text = json.dumps(getattr(rows, "value", rows), default=str)
    assert "kpi_daily_revenue" in text and final_day in text
    after = wh.table("kpi_daily_revenue").set_index("date")
    assert after.loc[final_day, "gross_revenue_ngn"] == pytest.approx(
        revenue.loc[final_day, "gross_revenue_ngn"] + 1111
    )
    # kpi_restatements: a row for each changed value of each KPI of those two days (computed
    # here from the tables before and after), each caused by the landing of 2025-01-16
    restated = wh.table("kpi_restatements")
    assert set(restated["date"].dt.strftime("%Y-%m-%d")) == {final_day, provisional_day}
    assert (restated["cause"] == "new data of ingestion day 2025-01-16").all(), restated["cause"]
    for name in before:
        now = wh.table(name)
        key = [c for c in ("date", "vendor") if c in now.columns]
        joined = before[name].merge(now, on=key, suffixes=("_was", "_now"))
        for column in [c for c in now.columns if c not in (*key, "is_final")]:
            moved = joined[~np.isclose(joined[f"{column}_was"], joined[f"{column}_now"])]
            mine = restated[(restated["kpi"] == name) & (restated["column_name"] == column)]
            assert len(mine) == len(moved), (name, column)
            assert sorted(mine["now_value"]) == pytest.approx(sorted(moved[f"{column}_now"]))
    net = restated[restated["column_name"] == "net_revenue_ngn"]
    assert sorted(net["delta"]) == [1111, 1111, 2222, 2222]  # the day's and vendor_b's AOV row
    # vendor_b's newest arrival moved and its lateness with it: its own days re-judged
    lateness = wh.table("kpi_vendor_lateness").set_index("vendor")
    assert lateness.loc["vendor_b", "watermark"] == pd.Timestamp("2025-01-16T10:00:00Z")


def test_landing_records_name_their_kind():
    import dagster as dg

    from commercepulse.defs.kpis.assets import landing_records
    from commercepulse.defs.landing_contract import landing_metadata

    with dg.DagsterInstance.ephemeral() as instance:
        for asset, partition, description, extra in (
            ("events_raw", "2025-01-16", None, {}),
            ("events_raw", "2025-01-16", "commercepulse quarantine replay", {}),
            ("events_raw", "2025-01-17", None, {"reason": "vendor mappings changed (abc)"}),
            ("bootstrap_events", None, None, {}),
        ):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    asset,
                    partition=partition,
                    description=description,
                    metadata=landing_metadata(["2025-01-10"], **extra),
                )
            )
        found = landing_records(instance)
    assert sorted(zip(found["kind"], found["partition"], strict=True)) == [
        ("a quarantine replay into ingestion day", "2025-01-16"),
        ("a vendor mapping change re-staged ingestion day", "2025-01-17"),
        ("new data of ingestion day", "2025-01-16"),
        ("the dumps landed", ""),
    ]
    assert all(days == ["2025-01-10"] for days in found["touched"])
