"""The platform domain's job: land (Bronze) and clean (Silver) a window of ingestion days."""

import dagster as dg

from commercepulse.check_catalogue import CHECKS, PER_DAY

PLATFORM = dg.AssetSelection.groups("platform_bronze", "platform_silver")
#: The per-ingestion-day checks of the platform's assets; their whole-history checks
#: (order_status_backwards, scd2_integrity) run unpartitioned after the assets change, so the UI
#: never shows a verdict on all history under one partition.
PER_DAY_CHECKS = (PLATFORM - PLATFORM.without_checks()) & dg.AssetSelection.checks(
    *(dg.AssetCheckKey(dg.AssetKey(c.asset), c.name) for c in CHECKS if c.scope == PER_DAY)
)
#: ... which `refresh_job` runs with the other whole-history checks.
HISTORY_CHECKS = (PLATFORM - PLATFORM.without_checks()) - PER_DAY_CHECKS

platform_job = dg.define_asset_job(
    "platform_job",
    selection=PLATFORM.without_checks() | PER_DAY_CHECKS,
    description="Land (Bronze) and clean (Silver) the platform source files of ingestion days.",
)
