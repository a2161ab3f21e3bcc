"""KPI anomalies with calendar seasonality (`checks/kpi_anomalies.py`) on a generated marketplace
(`kpi_world.py`: weekday seasonality, a month-end uplift, a drifting USD rate), with the change
explained (`warehouse/why.py`) and analysts' annotations (`warehouse/annotations.py`)."""

from __future__ import annotations

from datetime import date, timedelta

import orjson
import pytest

from commercepulse.checks.kpi_anomalies import judge_days, kpi_anomalies_by_day
from commercepulse.checks.spec import RuleInputs
from commercepulse.settings import CheckThresholds
from commercepulse.warehouse import annotations
from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse
from commercepulse.warehouse.why import (
    comparison_rate,
    explain_change,
    same_weekdays,
    share_change,
    warehouse_rates,
)
from commercepulse_tests.checks.kpi_world import Incident, load, world

START = date(2031, 3, 2)
DAYS = 120
JUDGED = (START + timedelta(days=DAYS - 90), START + timedelta(days=DAYS))  # the last 90 days
SETTINGS = CheckThresholds()
# one incident a fortnight, on plain days (neither they nor the weeks before are month-end days)
INCIDENTS = [
    Incident(START + timedelta(days=40), "vendor_b", "success_rate"),  # successes collapse
    Incident(START + timedelta(days=52), "vendor_a", "refunds"),  # a refund wave
    Incident(START + timedelta(days=70), "vendor_c", "fx"),  # the USD rate doubles
    Incident(START + timedelta(days=80), "vendor_a", "attempts"),  # the vendor sends nothing
]


def warehouse_of(tmp_path, seed: int, incidents=()) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(path=str(tmp_path / f"world{seed}.duckdb"))
    load(wh, world(seed, START, DAYS, list(incidents)))
    return wh


@pytest.mark.parametrize("seed", [11])
def test_a_seasonal_world_without_incidents_has_at_most_one_false_anomaly_in_90_days(
    tmp_path, seed
):
    wh = warehouse_of(tmp_path, seed)
    judged = judge_days(wh, *JUDGED, SETTINGS)
    days = {j.day for j in judged if j.expected is not None}
    assert len(days) == 90  # every day judged: the seasonality is learnt, not skipped
    flagged = sorted({j.day for j in judged if j.flagged})
    assert len(flagged) <= 1, [j.line() for j in judged if j.flagged]


@pytest.mark.parametrize("seed", [21])
def test_each_incident_is_flagged_on_its_day_and_explained_by_its_cause(tmp_path, seed):
    wh = warehouse_of(tmp_path, seed, INCIDENTS)
    judged = judge_days(wh, *JUDGED, SETTINGS)
    for incident in INCIDENTS:
        mine = [j for j in judged if j.day == incident.day and j.flagged]
        assert any(j.scope == incident.vendor for j in mine), incident
        # against the mean of the four weeks before: at least 90 % of the vendor's change is the cause
        versus = same_weekdays(incident.day, 4)
        rate = comparison_rate(warehouse_rates(wh), versus)
        change = explain_change(wh, incident.day, versus, rate)
        vendor = next(v for v in change.vendors if v.vendor == incident.vendor)
        assert vendor.parts[incident.kind] / vendor.change >= 0.9, (incident, vendor.parts)
        others = sum(abs(v.change) for v in change.vendors if v is not vendor)
        assert abs(vendor.change) > others  # the incident is most of the day's change
    # the wave refunded orders first paid on the five days before it: their refund rates rose
    wave = INCIDENTS[1].day
    earlier = {wave - timedelta(days=k) for k in range(1, 6)}
    elsewhere = {
        j.day
        for j in judged
        if j.flagged
        and j.day not in {i.day for i in INCIDENTS}
        and not (j.day in earlier and j.metric == "refund_rate")
    }
    assert len(elsewhere) <= 1, [j.line() for j in judged if j.day in elsewhere and j.flagged]


def test_an_annotated_day_is_not_flagged_and_leaves_the_baselines(tmp_path):
    outage = INCIDENTS[3]
    wh = warehouse_of(tmp_path, 31, [outage])
    before = judge_days(wh, *JUDGED, SETTINGS)
    assert any(j.flagged for j in before if j.day == outage.day)
    annotations.annotate(wh, [outage.day], "vendor_a's planned migration", vendor="vendor_a")
    after = judge_days(wh, *JUDGED, SETTINGS)
    mine = [j for j in after if j.day == outage.day and j.scope == "vendor_a"]
    assert mine and all(j.annotated and not j.flagged for j in mine)
    # the day left vendor_a's baselines: the next weeks are judged as if it had a normal day's
    # figures, whatever they were (here: the same world without the outage)
    clean = DuckDBWarehouse(path=str(tmp_path / "clean.duckdb"))
    load(clean, world(31, START, DAYS))
    annotations.annotate(clean, [outage.day], "vendor_a's planned migration", vendor="vendor_a")
    later = (outage.day + timedelta(days=1), JUDGED[1])
    expected = {
        (j.day, j.metric): j.expected
        for j in judge_days(clean, *later, SETTINGS)
        if j.scope == "vendor_a"
    }
    got = {
        (j.day, j.metric): j.expected
        for j in judge_days(wh, *later, SETTINGS)
        if j.scope == "vendor_a"
    }
    assert got == expected
    # the note is shown with the day's verdict
    outcome = kpi_anomalies_by_day(RuleInputs(lambda: None, wh, SETTINGS), outage.day, later[0])
    assert "planned migration" in outcome[outage.day].note
    assert annotations.remove(wh, [outage.day], vendor="vendor_a") == 1
    assert any(j.flagged for j in judge_days(wh, outage.day, later[0], SETTINGS))


def test_a_provisional_day_is_never_a_drop_but_a_rise_is_flagged(tmp_path):
    last = START + timedelta(days=DAYS - 1)
    wh = warehouse_of(tmp_path, 41, [Incident(last, "vendor_a", "attempts")])
    # vendor_a's last day is not final yet: its lateness expects more data for it
    wh.execute(
        [
            (
                "INSERT INTO kpi_vendor_lateness (vendor, final_through) VALUES ('vendor_a', $d)",
                {"d": last - timedelta(days=1)},
            ),
            ("UPDATE kpi_vendor_payment_success SET is_final = NOT (date = $d AND vendor = 'vendor_a')",
             {"d": last}),
            ("UPDATE kpi_daily_revenue SET is_final = date < $d", {"d": last}),
        ]
    )  # fmt: skip
    judged = [j for j in judge_days(wh, last, last + timedelta(days=1), SETTINGS)]
    silent = [j for j in judged if j.scope in ("vendor_a", "all") and j.metric == "net_revenue"]
    assert silent and all(j.provisional and not j.flagged and j.z < -4 for j in silent)
    # the same silence on a final day is a drop, and the verdict explains it
    wh.execute([("UPDATE kpi_vendor_payment_success SET is_final = true", {}),
                ("UPDATE kpi_daily_revenue SET is_final = true", {})])  # fmt: skip
    final = judge_days(wh, last, last + timedelta(days=1), SETTINGS)
    assert any(j.flagged and j.scope == "vendor_a" and j.metric == "net_revenue" for j in final)
    outcome = kpi_anomalies_by_day(
        RuleInputs(lambda: None, wh, SETTINGS), last, last + timedelta(days=1)
    )
    verdict = outcome[last]
    assert not verdict.passed and verdict.details["why"][0].startswith("net revenue")
    assert any(line.strip().startswith("vendor_a") for line in verdict.details["why"])
    for day_verdict in outcome.values():  # written as JSON into the report and the metadata
        orjson.dumps(day_verdict.as_dict())


def test_why_job_shows_each_vendors_parts_and_where_their_rows_are(tmp_path):
    """The UI's why_job on the incident world: the parts by vendor, the explain config of each
    vendor's rows, and the observation beside the KPI."""
    import dagster as dg

    from commercepulse.defs.kpis.jobs import why_job

    incident = INCIDENTS[0]
    wh = warehouse_of(tmp_path, 51, [incident])
    config = {"day": str(incident.day), "weeks": 4}
    with dg.DagsterInstance.ephemeral() as instance:
        result = why_job.execute_in_process(
            run_config={"ops": {"explain_change_op": {"config": config}}},
            resources={"warehouse": wh},
            instance=instance,
        )
        assert result.success
        seen = instance.fetch_observations(dg.AssetKey("kpi_daily_revenue"), limit=1).records
    observed = seen[0].event_log_entry.asset_observation.metadata
    change = explain_change(wh, incident.day, same_weekdays(incident.day, 4), None)
    assert observed["change"].value == change.change
    assert observed["compared_with"].value == [str(d) for d in same_weekdays(incident.day, 4)]
    parts = observed["parts"].value
    assert f"explain_job: kpi kpi_daily_revenue, key {incident.day}, vendor vendor_b" in parts


def test_orders_and_payment_success_split_by_vendor_exactly(tmp_path):
    """On the incident world: the vendors' parts add up to the whole's change, a rate's parts
    to each vendor's (rate + mix), and each incident's vendor carries its KPI's change."""
    wh = warehouse_of(tmp_path, 61, INCIDENTS)
    collapse, silence = INCIDENTS[0], INCIDENTS[3]
    compared = same_weekdays(collapse.day, 4)
    success = share_change(wh, "kpi_vendor_payment_success", collapse.day, compared)
    figures = (
        wh.query(
            "SELECT date, sum(attempts) AS a, sum(successes) AS s FROM kpi_vendor_payment_success "
            "GROUP BY date"
        )
        .assign(date=lambda f: f["date"].dt.date)
        .set_index("date")
    )
    now = figures.loc[collapse.day, "s"] / figures.loc[collapse.day, "a"]
    before = figures.loc[compared, "s"].sum() / figures.loc[compared, "a"].sum()
    assert success.now == pytest.approx(now) and success.before == pytest.approx(before)
    assert sum(p["change"] for p in success.vendors.values()) == pytest.approx(now - before)
    for p in success.vendors.values():
        assert p["rate"] + p["mix"] == pytest.approx(p["change"])
    assert success.vendors["vendor_b"]["rate"] / success.change >= 0.9
    orders = share_change(wh, "orders", silence.day, same_weekdays(silence.day, 4))
    counted = wh.query(
        "SELECT order_date, vendor, count(*) AS n FROM fact_orders GROUP BY ALL"
    ).assign(order_date=lambda f: f["order_date"].dt.date)
    mine = counted[counted["vendor"] == "vendor_a"].set_index("order_date")["n"]
    usual = sum(mine.get(d, 0) for d in same_weekdays(silence.day, 4)) / 4
    assert orders.vendors["vendor_a"]["change"] == pytest.approx(-usual)
    assert sum(p["change"] for p in orders.vendors.values()) == pytest.approx(orders.change)
