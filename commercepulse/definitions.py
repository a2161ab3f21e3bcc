"""The Dagster code location: every asset, check, job, schedule and sensor, with resources."""
from __future__ import annotations

import dagster as dg

from commercepulse.automation import RECONCILE_SENSORS, business_day_job, daily_ingest_schedule, ingest_job
from commercepulse.checks.assets import CHECKS
from commercepulse.environment import build_resources
from commercepulse.platform.assets import ASSETS as PLATFORM_ASSETS
from commercepulse.platform.checks import CHECKS as PLATFORM_CHECKS
from commercepulse.raw.assets import bootstrap_events, events_raw
from commercepulse.reports.assets import quality_reports
from commercepulse.staging.assets import staging
from commercepulse.warehouse.assets import ASSETS as WAREHOUSE_ASSETS

ALL_ASSETS = [bootstrap_events, events_raw, staging, *WAREHOUSE_ASSETS, *PLATFORM_ASSETS, quality_reports]
ALL_CHECKS = [*CHECKS, *PLATFORM_CHECKS]
ALL_DEFS = [*ALL_ASSETS, *ALL_CHECKS]


def build_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=ALL_CHECKS,
        jobs=[business_day_job, ingest_job],
        schedules=[daily_ingest_schedule],
        sensors=RECONCILE_SENSORS,
        resources=build_resources(),
        # DuckDB allows one writer: steps run in one process, one after another.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
