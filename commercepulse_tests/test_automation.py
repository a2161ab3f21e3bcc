"""The analysts' deployment, driven as the daemon drives it (daemon-less evaluation against a real
instance): a new day file flows to refreshed KPIs by itself, range runs leave no check planned,
nothing fails on good data."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import dagster as dg
import orjson
import pytest

from commercepulse.defs.landing_contract import TRIGGER
from commercepulse_tests.harness import definitions, run_job, warehouse_of

NEW_DAY = "2025-01-16"
PAID_DAY = "2025-01-12"


def check_statuses(instance: dg.DagsterInstance, defs: dg.Definitions) -> Counter:
    """(check, status) counts of every execution the instance recorded."""
    counts: Counter = Counter()
    for key in defs.resolve_asset_graph().asset_check_keys:
        for record in instance.event_log_storage.get_asset_check_execution_history(
            key, limit=100_000
        ):
            counts[(f"{key.asset_key.to_user_string()}:{key.name}", record.status.value)] += 1
    return counts


def failed_runs(instance: dg.DagsterInstance) -> list:
    return instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))


def run_requests(
    defs: dg.Definitions, instance: dg.DagsterInstance, sensor: str, cursor: str | None = None
):
    context = dg.build_sensor_context(
        instance=instance, definitions=defs, cursor=cursor, resources=defs.resources
    )
    result = defs.get_sensor_def(sensor)(context)
    requests = [] if result is None or isinstance(result, dg.SkipReason) else list(result)
    return requests, context.cursor


def launch(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    request: dg.RunRequest,
    sensor_job: str | None = None,
) -> dg.ExecuteInProcessResult:
    """Run a sensor's request the way the daemon would: its job (or the sensor's), its partition or range tags."""
    job = defs.resolve_job_def(request.job_name or sensor_job)
    return job.execute_in_process(
        instance=instance,
        tags=dict(request.tags),
        partition_key=request.partition_key,
        asset_selection=list(request.asset_selection) if request.asset_selection else None,
        raise_on_error=False,
    )


def automation_tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor=None):
    """One evaluation of the automation conditions; runs what it requests (one run, as the sensor does)."""
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    assets = {
        r.key for r in result.results if isinstance(r.key, dg.AssetKey) and r.true_subset.size
    }
    checks = {
        r.key for r in result.results if isinstance(r.key, dg.AssetCheckKey) and r.true_subset.size
    }
    if assets or checks:
        job = dg.define_asset_job(
            "automation_tick",
            selection=dg.AssetSelection.assets(*assets).without_checks()
            | dg.AssetSelection.checks(*checks),
        )
        run = (
            dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
            .resolve_job_def("automation_tick")
            .execute_in_process(instance=instance, raise_on_error=False)
        )
        assert run.success, [e.message for e in run.get_step_failure_events()]
    return (
        result.cursor,
        {k.to_user_string() for k in assets},
        {f"{k.asset_key.to_user_string()}:{k.name}" for k in checks},
    )


def test_new_day_file_flows_to_refreshed_kpis_and_nothing_fails(datapack_copy, tmp_path, instance):
    settings, _ = datapack_copy
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(settings.data_dir / "fx_rates_2023.csv", data)
    settings = settings.model_copy(update={"data_dir": data})
    defs, wh = definitions(settings), warehouse_of(settings)
    # the deployment starts: the automation sensor builds what this instance has never seen, then rests
    cursor, _, _ = automation_tick(defs, instance)
    cursor, assets, checks = automation_tick(defs, instance, cursor)
    assert (assets, checks) == (set(), set())
    revenue_before = (
        wh.table("kpi_daily_revenue").set_index("date").loc[PAID_DAY, "gross_revenue_ngn"]
    )
    assert run_requests(defs, instance, "new_data_files")[0] == []

    # a new ingestion day arrives: one late payment for an already-reported business day
    folder = data / "live_events" / NEW_DAY
    folder.mkdir(parents=True)
    payment = {
        "event_id": "flow-pay-1",
        "event_type": "payment_succeeded",
        "event_time": f"{PAID_DAY}T09:00:00Z",
        "vendor": "vendor_b",
        "ingested_at": f"{NEW_DAY}T10:00:00Z",
        "payload": {
            "order_id": "ORD-250112-00002",
            "paid_at": f"{PAID_DAY}T09:00:00Z",
            "payment_status": "SUCCESS",
            "amountPaid": 777,
            "currencyCode": "NGN",
            "channel": "card",
            "transaction_id": "flowref",
        },
    }
    (folder / "events.jsonl").write_text(json.dumps(payment) + "\n")

    requests, files_cursor = run_requests(defs, instance, "new_data_files")
    assert [(r.job_name, r.partition_key) for r in requests] == [("ingest_job", NEW_DAY)]
    assert launch(defs, instance, requests[0]).success
    assert run_requests(defs, instance, "new_data_files", files_cursor)[0] == []  # landed once

    requests, _ = run_requests(defs, instance, "reconcile_business_days")
    assert [(r.job_name or "business_day_job", r.partition_key) for r in requests] == [
        ("business_day_job", PAID_DAY)
    ]
    assert launch(defs, instance, requests[0], sensor_job="business_day_job").success

    # the automation sensor's ticks until it rests: a KPI waits for its inputs' blocking checks
    # (requested in the same tick, or passed in an earlier one); nothing is built twice
    requested_assets, requested_checks = Counter(), Counter()
    for _ in range(4):
        cursor, assets, checks = automation_tick(defs, instance, cursor)
        if not assets and not checks:
            break
        requested_assets.update(assets)
        requested_checks.update(checks)
    assert (assets, checks) == (set(), set())
    assert {
        "kpi_daily_revenue",
        "kpi_refund_rate",
        "kpi_aov",
        "kpi_order_to_payment",
        "kpi_top_products",
        "dim_date",
    } <= set(requested_assets)
    assert {
        "fact_payments:key_integrity",
        "fact_payments:payments_without_order",
        "stg_unmapped:completeness",
        "kpi_daily_revenue:revenue_drift",
    } <= set(requested_checks)
    assert max(requested_assets.values()) == 1 and max(requested_checks.values()) == 1
    assert not any(
        c.startswith(("silver_", "events_raw")) for c in requested_checks
    )  # their assets did not change
    after = wh.table("kpi_daily_revenue").set_index("date").loc[PAID_DAY, "gross_revenue_ngn"]
    assert after == pytest.approx(revenue_before + 777)
    # then the reports of the touched days: the payment's business day and the new ingestion day
    requests, reports_cursor = run_requests(defs, instance, "report_touched_days")
    assert [
        (
            r.tags.get("dagster/asset_partition_range_start"),
            r.tags.get("dagster/asset_partition_range_end"),
        )
        for r in requests
    ] == [(PAID_DAY, NEW_DAY)]
    assert launch(defs, instance, requests[0], sensor_job="reports_job").success
    assert (settings.reports_dir / NEW_DAY / "report.html").is_file()
    paid_day = orjson.loads((settings.reports_dir / PAID_DAY / "quality.json").read_bytes())
    assert paid_day["kpis"]["daily_revenue"][0]["gross_revenue_ngn"] == pytest.approx(after)
    # the day whose file brought the late payment shows the restatement it caused
    new_day = orjson.loads((settings.reports_dir / NEW_DAY / "quality.json").read_bytes())
    caused = new_day["kpis"]["restated_by_data_landed_this_day"]
    assert [(r["date"], r["delta_ngn"]) for r in caused] == [(PAID_DAY, 777.0)]
    assert PAID_DAY in (settings.reports_dir / NEW_DAY / "report.html").read_text()
    assert run_requests(defs, instance, "report_touched_days", reports_cursor)[0] == []
    assert failed_runs(instance) == []
    assert not [k for k, status in check_statuses(instance, defs) if status == "PLANNED"]


def test_range_runs_record_every_planned_check_per_partition(datapack_copy, instance):
    settings, _ = datapack_copy
    defs = definitions(settings)
    # what a UI backfill of fact_payments launches: the asset with its checks, one run over a range
    backfill = dg.define_asset_job(
        "ui_backfill", selection=dg.AssetSelection.assets("fact_payments")
    )
    defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[backfill]))
    assert run_job(defs, "ui_backfill", instance, "2023-03-01", "2023-03-31").success
    assert run_job(defs, "ingest_job", instance, "2025-01-14", "2025-01-15").success
    counts = check_statuses(instance, defs)
    assert not [k for k, status in counts if status == "PLANNED"], counts
    per_check = Counter()
    for (check, _), n in counts.items():
        per_check[check] += n
    assert (
        per_check["fact_payments:key_integrity"] == 31
        and per_check["fact_payments:payments_without_order"] == 31
    )
    assert (
        per_check["events_raw:duplicate_event_rate"] == 2
        and per_check["events_raw:late_arriving_pct"] == 2
    )
    # one result per partition, in the partition it belongs to
    key = dg.AssetCheckKey(dg.AssetKey("fact_payments"), "payments_without_order")
    partitions = {
        r.partition
        for r in instance.event_log_storage.get_asset_check_execution_history(key, limit=100)
    }
    assert partitions == {f"2023-03-{d:02d}" for d in range(1, 32)}
    # what the UI's partition view of a per-day check shows: each day's result judged that day's
    # latest materialization (else the day would read "Missing")
    keys = [
        dg.AssetCheckKey(dg.AssetKey("events_raw"), name)
        for name in ("duplicate_event_rate", "late_arriving_pct")
    ]
    infos = instance.event_log_storage.get_asset_check_partition_info(keys)
    assert sorted(
        (i.check_key.name, i.partition_key, i.latest_execution_status.value, i.is_current)
        for i in infos
    ) == [
        ("duplicate_event_rate", "2025-01-14", "SUCCEEDED", True),
        ("duplicate_event_rate", "2025-01-15", "SUCCEEDED", True),
        ("late_arriving_pct", "2025-01-14", "SUCCEEDED", True),
        ("late_arriving_pct", "2025-01-15", "SUCCEEDED", True),
    ]
    assert failed_runs(instance) == []


def test_business_day_job_writes_no_check_results_and_refresh_judges_history(
    datapack_copy, datapack, instance
):
    from datetime import date, timedelta

    from commercepulse.checks import rules
    from commercepulse.checks.windows import FAILING_DAYS_SHOWN
    from commercepulse_tests import independent as ind

    settings, _ = datapack_copy
    defs, wh = definitions(settings), warehouse_of(settings)
    result = run_job(defs, "business_day_job", instance, "2023-03-01", "2023-03-31")
    assert result.success and result.get_asset_check_evaluations() == []
    refresh = run_job(defs, "refresh_job", instance)
    evaluations = {
        f"{e.asset_key.to_user_string()}:{e.check_name}": e
        for e in refresh.get_asset_check_evaluations()
    }
    orphans = evaluations["fact_payments:payments_without_order"]
    assert orphans.partition is None and not orphans.passed
    # the figure over all history equals the true orphans counted from the raw files
    classes = ind.payments_without_order_classes(
        datapack, settings.check_orphan_edge_days, "UNKNOWN"
    )
    assert orphans.metadata["figure"].value == classes["true_orphan"]
    assert orphans.metadata["all_days"].value["by_class"] == classes
    assert orphans.metadata["all_days"].value["sample_orders"]
    # the failing days, in order, each with its figure as judged alone
    days, per_day = (
        orphans.metadata["failing_days"].value,
        orphans.metadata["figure_per_failing_day"].value,
    )
    assert len(days) == min(
        FAILING_DAYS_SHOWN, orphans.metadata["days_failing"].value
    ) and days == sorted(days)
    for day in days[:3]:
        alone = rules.payments_without_order(
            wh, date.fromisoformat(day), date.fromisoformat(day) + timedelta(1), settings
        )
        assert alone.figure == per_day[day] > 0
    assert all(
        e.passed for k, e in evaluations.items() if "key_integrity" in k or "completeness" in k
    )


def test_facts_rebuilt_during_a_kpi_refresh_are_refreshed_by_the_missed_update_sensor(
    datapack_copy, instance, monkeypatch
):
    """Facts rebuilt after the last KPI refresh started (eager() counts that refresh as handling them):
    `refresh_missed_updates` refreshes the tables still behind their inputs, those only, once the
    grace period is over; a refresh of some KPIs never hides another's."""
    from commercepulse.defs import instance_queries
    from commercepulse.defs.automation import sensors

    settings, _ = datapack_copy
    defs = definitions(settings)
    graph = defs.resolve_asset_graph()
    behind = lambda: instance_queries.refreshes_behind(instance, graph)  # noqa: E731
    assert run_job(defs, "refresh_job", instance).success
    assert run_requests(defs, instance, "refresh_missed_updates")[0] == []  # all current
    assert run_job(
        defs, "business_day_job", instance, PAID_DAY
    ).success  # facts rebuilt after that refresh
    stale, newest = behind()
    names = {k.to_user_string() for k in stale}
    # the tables fed by the rebuilt business days, not those fed only by the platform's Silver
    assert {"kpi_daily_revenue", "kpi_refund_rate", "dim_date"} <= names
    assert "kpi_daily_funnel" not in names and newest is not None
    assert (
        run_requests(defs, instance, "refresh_missed_updates")[0] == []
    )  # the automation condition's turn first
    # a refresh of some KPIs (what eager() requests for some inputs) leaves the others behind
    some = dg.define_asset_job("some_kpis", selection=["kpi_refund_rate"])
    partial = dg.Definitions.merge(defs, dg.Definitions(jobs=[some]))
    assert run_job(partial, "some_kpis", instance).success
    still = {k.to_user_string() for k in behind()[0]}
    assert "kpi_refund_rate" not in still and "kpi_daily_revenue" in still
    monkeypatch.setattr(sensors, "GRACE_SECONDS", 0)
    requests, _ = run_requests(defs, instance, "refresh_missed_updates")
    assert [(r.job_name, r.tags[TRIGGER]) for r in requests] == [(None, "refresh_missed_updates")]
    # only the tables still behind are refreshed, not the whole refresh_job
    assert {k.to_user_string() for k in requests[0].asset_selection} == still
    assert launch(defs, instance, requests[0], "refresh_job").success
    assert behind() == ([], None)
    assert run_requests(defs, instance, "refresh_missed_updates")[0] == []
