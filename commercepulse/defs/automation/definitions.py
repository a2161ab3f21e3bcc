"""Cross-domain flow: the whole-history refresh (dim_date, KPIs, Gold and every whole-history
check) and the sensor that runs it once after the work that changes its inputs; and recovery
(dead runs failed within seconds, the check on work automation gave up on). Each domain owns
its own jobs, sensors and schedules (defs/<domain>/jobs.py, sensors.py, schedules.py): new files
land (raw), touched business days are rebuilt (warehouse), reports follow (reports), a mapping
change re-stages (feeds). Everything is on by default."""

import dagster as dg

from commercepulse.defs.automation.jobs import refresh_job
from commercepulse.defs.automation.recovery import automation_gave_up, run_recovery
from commercepulse.defs.automation.sensors import refresh_whole_history


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        jobs=[refresh_job],
        sensors=[refresh_whole_history, run_recovery],
        asset_checks=[automation_gave_up],
    )
