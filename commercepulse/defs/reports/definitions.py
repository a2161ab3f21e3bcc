"""The reports domain: daily quality reports, the job that writes them for chosen days and the
sensor that writes them after each landing."""

import dagster as dg

from commercepulse.defs.reports.assets import quality_reports
from commercepulse.defs.reports.jobs import reports_job
from commercepulse.defs.reports.sensors import report_touched_days


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[quality_reports], jobs=[reports_job], sensors=[report_touched_days]
    )
