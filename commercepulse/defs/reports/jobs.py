"""The reports domain's job: the daily quality reports of chosen days."""

import dagster as dg

from commercepulse.defs.job_names import REPORTS_JOB
from commercepulse.defs.reports.assets import quality_reports

reports_job = dg.define_asset_job(
    REPORTS_JOB,
    selection=[quality_reports],
    description="Write the daily quality reports of chosen days.",
)
