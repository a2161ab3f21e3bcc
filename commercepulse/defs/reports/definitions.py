"""The reports domain: daily quality reports and the job that writes them for chosen days."""

import dagster as dg

from commercepulse.defs.reports.assets import quality_reports

reports_job = dg.define_asset_job(
    "reports_job",
    selection=[quality_reports],
    description="Write the daily quality reports of chosen days.",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[quality_reports], jobs=[reports_job])
