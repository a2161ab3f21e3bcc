"""The main job end to end: MongoDB up, demo data if needed, land, stage, model, summarize."""
from __future__ import annotations

import os
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Callable

import dagster as dg

from commercepulse.automation import RANGE_END, RANGE_START, contiguous_ranges
from commercepulse.environment import build_resources, warehouse_location
from commercepulse.partitions import DAILY, utc_midnight
from commercepulse.platform.gold_sql import GOLD_STATEMENTS
from commercepulse.platform.silver import SILVER_OF
from commercepulse.settings import Settings
from commercepulse.staging.normalize import FRAMES

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
DEMO_LIVE_START = date(2025, 1, 9)
DEMO_LIVE_DAYS = 7
PARTITIONED_WAREHOUSE = [*FRAMES, "fact_payments", "fact_refunds", "fact_shipments", "fact_orders",
                         "fact_order_daily", "dim_customer", "dim_product"]
WHOLE = ["dim_date", "kpi_daily_revenue", "kpi_vendor_payment_success", "kpi_order_to_payment",
         "kpi_refund_rate", "kpi_top_products", *GOLD_STATEMENTS]
PLATFORM = ["platform_raw", *SILVER_OF.values()]


class StepFailedError(RuntimeError):
    """A materialization step failed for a reason other than a blocking asset check."""


def has_input(data_dir: Path) -> bool:
    return (data_dir / "bootstrap").is_dir() or any((data_dir / "live_events").glob("*/events.jsonl"))


def generate_demo(data_dir: Path) -> None:
    from commercepulse.generate.platform import write_platform
    from commercepulse.generate.writers import write_bootstrap, write_fx, write_live

    write_bootstrap(data_dir, seed=7, orders=1200, year=2023)
    write_fx(data_dir, DEMO_LIVE_START.year)
    write_live(data_dir / "live_events", seed=42, start=DEMO_LIVE_START, days=DEMO_LIVE_DAYS, events=2000)
    write_platform(data_dir / "platform", start=DEMO_LIVE_START, days=DEMO_LIVE_DAYS, seed=42)


def live_day_folders(data_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in (data_dir / "live_events").glob("*/events.jsonl"))


def platform_days(data_dir: Path) -> list[str]:
    return sorted({p.stem for p in (data_dir / "platform").glob("*/????-??-??.jsonl")})


def _range_tags(first: str, last: str) -> dict[str, str]:
    return {RANGE_START: first, RANGE_END: last}


def ensure_dagster_home(settings: Settings) -> Path:
    """Runs go to a persistent instance so `dagster dev` shows their history."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.home / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home.resolve())
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\nrun_queue:\n  max_concurrent_runs: 1\n")
    return home


def run_all(settings: Settings, say: Callable[[str], None] = print,
            instance: dg.DagsterInstance | None = None, reports: bool = True) -> dict:
    """Materialize everything for DATA_DIR; returns timings and where things are.

    `reports=False` skips the daily report files (the warehouse comparison tests)."""
    from commercepulse.definitions import ALL_DEFS
    from commercepulse.staging.extract import days_with_events

    resources = build_resources(settings)
    if instance is None:
        ensure_dagster_home(settings)
        instance = dg.DagsterInstance.get()
    timings: dict[str, float] = {}
    failed: list[str] = []

    def step(label: str, selection: list[str], tags: dict | None = None) -> None:
        say(f"→ {label}")
        t0 = time.perf_counter()
        result = dg.materialize(ALL_DEFS, selection=selection, resources=resources, instance=instance,
                                tags=tags or {}, raise_on_error=False, run_config=QUIET)
        errors = [e for e in result.get_step_failure_events()
                  if e.step_failure_data.error is None
                  or e.step_failure_data.error.cls_name != "DagsterAssetCheckFailedError"]
        if errors:  # a real failure, not a blocking check doing its job
            raise StepFailedError(f"{label}: step {errors[0].step_key} failed:\n"
                                  f"{errors[0].step_failure_data.error.to_string() if errors[0].step_failure_data.error else ''}")
        timings[label] = round(time.perf_counter() - t0, 2)
        for evaluation in result.get_asset_check_evaluations():
            if not evaluation.passed:
                failed.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name} "
                              f"({evaluation.severity.value}) {label}")

    data_dir = settings.data_dir
    if not has_input(data_dir):
        say(f"→ {data_dir} has no input: generating demo data (bootstrap 2023 + {DEMO_LIVE_DAYS} live days)")
        generate_demo(data_dir)
    db = resources["mongo"].db()
    say(f"→ MongoDB ready: database {settings.mongo_db}")
    if (data_dir / "bootstrap").is_dir():
        step("land bootstrap dumps", ["bootstrap_events"])
    days = live_day_folders(data_dir)
    if days:
        step(f"land live days {days[0]}..{days[-1]}", ["events_raw", "kpi_late_arrivals"],
             _range_tags(days[0], days[-1]))
    valid = set(DAILY.get_partition_keys())
    platform = [d for d in platform_days(data_dir) if d in valid]
    for first, last in contiguous_ranges(platform):  # Silver before the dims that link to it
        step(f"land and clean platform sources {first}..{last}", PLATFORM, _range_tags(first, last))
    business = days_with_events(db, utc_midnight(date(1970, 1, 1)), utc_midnight(date.today() + timedelta(days=2)))
    business = [d for d in business if d in valid]
    for first, last in contiguous_ranges(business):  # one single-run backfill per span with data
        step(f"stage and model business days {first}..{last}", PARTITIONED_WAREHOUSE, _range_tags(first, last))
    step("dims and KPIs", WHOLE)
    report_days = sorted(set(business) | set(days)) if reports else []
    for first, last in contiguous_ranges(report_days):
        step(f"reports {first}..{last}", ["quality_reports"], _range_tags(first, last))
    return {"timings": timings, "warehouse": warehouse_location(settings), "business_days": len(business),
            "live_days": days, "failed_checks": failed, "reports_dir": str(settings.reports_dir.resolve()),
            "report_days": report_days, "platform_days": platform}
