"""The warehouse domain's job: staging, facts and dims of chosen business days."""

import dagster as dg

from commercepulse.defs.job_names import BUSINESS_DAY_JOB
from commercepulse.defs.warehouse.assets import dim_date

#: Staging and the partitioned facts/dims: what a business day's (re)build runs. No checks: they
#: judge all history once the days are rebuilt (`refresh_job`, run by the sensor
#: refresh_whole_history), instead of writing a result per rebuilt partition.
BUSINESS_DAY = (
    dg.AssetSelection.groups("staging", "warehouse") - dg.AssetSelection.assets(dim_date)
).without_checks()
business_day_job = dg.define_asset_job(
    BUSINESS_DAY_JOB,
    selection=BUSINESS_DAY,
    description="Staging, facts and dims for business-day partitions (late data: only the touched "
    "days).",
)
