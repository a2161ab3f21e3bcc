"""The platform domain's job: land (Bronze) and clean (Silver) a window of ingestion days."""

import dagster as dg

from commercepulse.defs.asset_checks import with_per_day_checks
from commercepulse.defs.job_names import PLATFORM_JOB

#: With its per-ingestion-day checks; the whole-history ones (order_status_backwards,
#: scd2_integrity) run in `refresh_job` after the assets change.
platform_job = dg.define_asset_job(
    PLATFORM_JOB,
    selection=with_per_day_checks(dg.AssetSelection.groups("platform_bronze", "platform_silver")),
    description="Land (Bronze) and clean (Silver) the platform source files of ingestion days.",
)
