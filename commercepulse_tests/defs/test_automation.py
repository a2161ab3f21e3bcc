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
    with dg.build_sensor_context(
        instance=instance, definitions=defs, cursor=cursor, resources=defs.resources
    ) as context:  # the resources live as long as the tick, as in the daemon
        result = defs.get_sensor_def(sensor)(context)
        if isinstance(result, dg.SensorResult):
            if result.cursor is not None:
                context.update_cursor(result.cursor)
            requests = list(result.run_requests or [])
        elif result is None or isinstance(result, dg.SkipReason):
            requests = []
        else:
            requests = list(result)
    return requests, context.cursor


def launch(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    request: dg.RunRequest,
    sensor_job: str | None = None,
) -> dg.ExecuteInProcessResult:
    """Run a sensor's request the way the daemon would: its job (or the sensor's), its partition or range tags."""
    job = defs.resolve_job_def(request.job_name or sensor_job)
    if request.asset_selection is not None or request.asset_check_keys is not None:
        job = job.get_subset(
            asset_selection=set(request.asset_selection or ()),
            asset_check_selection=set(request.asset_check_keys or ()),
        )
    return job.execute_in_process(
        instance=instance,
        tags=dict(request.tags),
        partition_key=request.partition_key,
        raise_on_error=False,
    )


def refresh_tick(defs: dg.Definitions, instance: dg.DagsterInstance):
    """One tick of `refresh_whole_history`; runs what it requests (as the daemon would). Returns the
    requested tables and checks."""
    requests, _ = run_requests(defs, instance, "refresh_whole_history")
    assert len(requests) <= 1
    if not requests:
        return set(), set()
    assert launch(defs, instance, requests[0], "refresh_job").success
    return (
        {k.to_user_string() for k in requests[0].asset_selection},
        {f"{k.asset_key.to_user_string()}:{k.name}" for k in requests[0].asset_check_keys},
    )


def test_new_day_file_flows_to_refreshed_kpis_and_nothing_fails(datapack_copy, tmp_path, instance):
    settings, _ = datapack_copy
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(settings.data_dir / "fx_rates_2023.csv", data)
    settings = settings.model_copy(update={"data_dir": data})
    defs, wh = definitions(settings), warehouse_of(settings)
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
    # its business day waits for its rebuild: no refresh before it (it would read the old facts)
    assert run_requests(defs, instance, "refresh_whole_history")[0] == []

    requests, _ = run_requests(defs, instance, "reconcile_business_days")
    assert [(r.job_name or "business_day_job", r.partition_key) for r in requests] == [
        ("business_day_job", PAID_DAY)
    ]
    assert launch(defs, instance, requests[0], sensor_job="business_day_job").success

    # the landing's days are rebuilt: one refresh of the tables and checks they feed, then rest
    requested_assets, requested_checks = refresh_tick(defs, instance)
    assert refresh_tick(defs, instance) == (set(), set())
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
    assert not any(c.startswith("silver_") for c in requested_checks)  # their assets did not change
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
    assert [
        (r["date"], r["delta"])
        for r in caused
        if (r["kpi"], r["column_name"]) == ("kpi_daily_revenue", "net_revenue_ngn")
    ] == [(PAID_DAY, 777.0)]
    # and every other figure of that day it moved, each caused by that landing
    assert {r["date"] for r in caused} == {PAID_DAY}
    assert all(f"new data of ingestion day {NEW_DAY}" in r["description"] for r in caused)
    assert PAID_DAY in (settings.reports_dir / NEW_DAY / "report.html").read_text()
    assert run_requests(defs, instance, "report_touched_days", reports_cursor)[0] == []
    assert failed_runs(instance) == []
    assert not [k for k, status in check_statuses(instance, defs) if status == "PLANNED"]


def late_payment_file(data, landed_day: str, paid_day: str, order_id: str, event_id: str) -> None:
    """A day file holding one late payment (777 NGN) for an already-reported business day."""
    folder = data / "live_events" / landed_day
    folder.mkdir(parents=True, exist_ok=True)
    payment = {
        "event_id": event_id,
        "event_type": "payment_succeeded",
        "event_time": f"{paid_day}T09:00:00Z",
        "vendor": "vendor_b",
        "ingested_at": f"{landed_day}T10:00:00Z",
        "payload": {
            "order_id": order_id,
            "paid_at": f"{paid_day}T09:00:00Z",
            "payment_status": "SUCCESS",
            "amountPaid": 777,
            "currencyCode": "NGN",
            "channel": "card",
            "transaction_id": event_id,
        },
    }
    (folder / "events.jsonl").write_text(json.dumps(payment) + "\n")


def test_no_refresh_while_a_landed_day_has_no_rebuild_planned(datapack_copy, tmp_path, instance):
    """Two landings in a row, the second before its rebuild is planned: the refresh waits for that
    plan even once the first day's rebuild has run (a staging of another day after a landing is
    not its rebuild), so it never reads raw events staging has not seen."""
    settings, _ = datapack_copy
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(settings.data_dir / "fx_rates_2023.csv", data)
    settings = settings.model_copy(update={"data_dir": data})
    defs = definitions(settings)
    rebuild = defs.resolve_job_def("business_day_job")

    def land(landed_day: str, paid_day: str, order_id: str, cursor: str | None) -> str:
        late_payment_file(data, landed_day, paid_day, order_id, f"race-{landed_day}")
        requests, cursor = run_requests(defs, instance, "new_data_files", cursor)
        assert [r.partition_key for r in requests] == [landed_day]
        assert launch(defs, instance, requests[0]).success
        return cursor

    files = land("2025-01-16", PAID_DAY, "ORD-250112-00002", None)
    first, planned = run_requests(defs, instance, "reconcile_business_days")
    assert [r.partition_key for r in first] == [PAID_DAY]
    files = land("2025-01-17", "2025-01-13", "ORD-250113-00002", files)
    # the first day's rebuild runs after the second landing; the second day has no rebuild yet
    assert launch(defs, instance, first[0], sensor_job="business_day_job").success
    assert run_requests(defs, instance, "refresh_whole_history")[0] == []
    second, _ = run_requests(defs, instance, "reconcile_business_days", planned)
    assert [r.partition_key for r in second] == ["2025-01-13"]
    # once planned (queued), the refresh is requested to run behind it
    queued = instance.create_run_for_job(
        rebuild,
        tags={**second[0].tags, "dagster/partition": "2025-01-13"},
        status=dg.DagsterRunStatus.STARTING,  # submitted (a run not yet submitted holds it back)
    )
    assert len(run_requests(defs, instance, "refresh_whole_history")[0]) == 1
    instance.delete_run(queued.run_id)
    assert launch(defs, instance, second[0], sensor_job="business_day_job").success
    (refresh,) = run_requests(defs, instance, "refresh_whole_history")[0]
    completeness = dg.AssetCheckKey(dg.AssetKey("stg_unmapped"), "completeness")
    assert dg.AssetKey("kpi_daily_revenue") in refresh.asset_selection
    assert completeness in refresh.asset_check_keys
    # what the refresh's blocking check finds now: every raw event staged (the refresh's tables
    # are proven in the new-day test; here only the check the race used to fail)
    only_check = dg.RunRequest(
        asset_selection=[], asset_check_keys=[completeness], tags=refresh.tags
    )
    judged = launch(defs, instance, only_check, "refresh_job")
    assert judged.success and failed_runs(instance) == []
    assert [e.passed for e in judged.get_asset_check_evaluations()] == [True]


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

    from commercepulse.checks import fact_rules
    from commercepulse.checks.windows import FAILING_DAYS_SHOWN
    from commercepulse_tests import independent as ind
    from commercepulse_tests.harness import rule_inputs

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
        alone = fact_rules.payments_without_order(
            rule_inputs(None, wh, settings),
            date.fromisoformat(day),
            date.fromisoformat(day) + timedelta(1),
        )
        assert alone.figure == per_day[day] > 0
    assert all(
        e.passed for k, e in evaluations.items() if "key_integrity" in k or "completeness" in k
    )


def test_one_refresh_of_exactly_what_changed_queued_behind_the_rebuild(datapack_copy, instance):
    """`refresh_whole_history`: a rebuild in flight gets the refresh of the tables it feeds queued
    right behind it; a refresh in flight or a backfill holds the next one; a refresh of some KPIs
    never hides another's; each table is refreshed once, and only those whose inputs changed."""
    from commercepulse.defs import instance_queries

    settings, _ = datapack_copy
    defs = definitions(settings)
    graph = defs.resolve_asset_graph()
    behind = lambda: instance_queries.refreshes_behind(instance, graph)  # noqa: E731
    # facts rebuilt (a manual materialization): the tables behind them, once
    assert run_job(defs, "business_day_job", instance, PAID_DAY).success
    stale, newest = behind()
    names = {k.to_user_string() for k in stale}
    assert {"kpi_daily_revenue", "kpi_refund_rate", "dim_date"} <= names and newest is not None
    assert "kpi_daily_funnel" not in names
    # a refresh of some KPIs leaves the others behind, and only those are refreshed next
    some = dg.define_asset_job("some_kpis", selection=["kpi_refund_rate"])
    partial = dg.Definitions.merge(defs, dg.Definitions(jobs=[some]))
    assert run_job(partial, "some_kpis", instance).success
    still = {k.to_user_string() for k in behind()[0]}
    assert "kpi_refund_rate" not in still and "kpi_daily_revenue" in still
    tables, checks = refresh_tick(defs, instance)
    assert still <= tables and "kpi_daily_funnel" not in tables
    assert "fact_payments:key_integrity" in checks
    assert behind() == ([], None)
    assert refresh_tick(defs, instance) == (set(), set())
    # all current; a business-day rebuild created by its sensor but not yet queued: nothing yet
    # (a refresh requested now would be queued ahead of it and read the days before their
    # rebuild: seen under `make ui-test`)
    created = instance.create_run_for_job(defs.resolve_job_def("business_day_job"))
    assert created.status == dg.DagsterRunStatus.NOT_STARTED
    assert run_requests(defs, instance, "refresh_whole_history")[0] == []
    instance.delete_run(created.run_id)
    # once submitted, the tables it feeds are requested now, to run right after it
    queued = instance.create_run_for_job(
        defs.resolve_job_def("business_day_job"), status=dg.DagsterRunStatus.STARTING
    )
    requests, _ = run_requests(defs, instance, "refresh_whole_history")
    (ahead,) = requests
    fed = {k.to_user_string() for k in ahead.asset_selection}
    assert {"kpi_daily_revenue", "kpi_refund_rate", "kpi_restatements", "dim_date"} <= fed
    assert "kpi_daily_funnel" not in fed  # fed by the platform's Silver only
    assert "fact_orders:key_integrity" in {
        f"{k.asset_key.to_user_string()}:{k.name}" for k in ahead.asset_check_keys
    }
    # ... once queued, nothing more is requested until it has run
    refresh = instance.create_run_for_job(defs.resolve_job_def("refresh_job"))
    assert run_requests(defs, instance, "refresh_whole_history")[0] == []
    # a backfill's runs hold the refresh until the last has ended
    instance.delete_run(refresh.run_id)
    instance.delete_run(queued.run_id)
    backfill = instance.create_run_for_job(
        defs.resolve_job_def("business_day_job"), tags={"dagster/backfill": "abc"}
    )
    assert run_requests(defs, instance, "refresh_whole_history")[0] == []
    instance.delete_run(backfill.run_id)

    assert failed_runs(instance) == []
