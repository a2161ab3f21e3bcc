"""The warehouse domain: facts and dims by business day, dim_date, their checks, the business-day
job that rebuilds staging and them for chosen days, and the sensor that rebuilds touched days."""

import dagster as dg

from commercepulse.defs.warehouse.assets import WAREHOUSE_CHECKS, WINDOW_ASSETS, dim_date
from commercepulse.defs.warehouse.jobs import business_day_job
from commercepulse.defs.warehouse.sensors import reconcile_business_days


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[*WINDOW_ASSETS.values(), dim_date],
        asset_checks=WAREHOUSE_CHECKS,
        jobs=[business_day_job],
        sensors=[reconcile_business_days],
    )
