"""The reports domain's job: the daily quality reports of chosen days."""

import dagster as dg

from commercepulse.defs.reports.assets import quality_reports

reports_job = dg.define_asset_job(
    "reports_job",
    selection=[quality_reports],
    description="Write the daily quality reports of chosen days.",
)
