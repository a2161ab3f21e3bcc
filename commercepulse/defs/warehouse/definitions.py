"""The warehouse domain: facts and dims by business day, dim_date, their checks and the
business-day job that rebuilds staging and them for chosen days."""

import dagster as dg

from commercepulse.defs.warehouse.assets import WAREHOUSE_CHECKS, WINDOW_ASSETS, dim_date

#: Staging and the partitioned facts/dims: what a business day's (re)build runs. No checks: they
#: judge all history once the days are rebuilt (`refresh_job` / automation), instead of writing a
#: result per rebuilt partition.
BUSINESS_DAY = (
    dg.AssetSelection.groups("staging", "warehouse") - dg.AssetSelection.assets(dim_date)
).without_checks()
#: The whole-history checks of staging and the warehouse tables.
BUSINESS_DAY_CHECKS = (
    dg.AssetSelection.groups("staging", "warehouse")
    - dg.AssetSelection.groups("staging", "warehouse").without_checks()
)
business_day_job = dg.define_asset_job(
    "business_day_job",
    selection=BUSINESS_DAY,
    description="Staging, facts and dims for business-day partitions (late data: only the touched days).",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[*WINDOW_ASSETS.values(), dim_date],
        asset_checks=WAREHOUSE_CHECKS,
        jobs=[business_day_job],
    )
