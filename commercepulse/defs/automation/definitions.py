"""Cross-domain flow: the whole-history refresh (dim_date, KPIs, Gold and the business-day checks)
through its automation condition, its job, and the sensor for the update eager() misses. Each
domain owns its own jobs, sensors and schedules (defs/<domain>/jobs.py, sensors.py, schedules.py):
new files land (raw), touched business days are rebuilt (warehouse), reports follow (reports), a
mapping change re-stages (feeds). Everything is on by default."""

import dagster as dg

from commercepulse.defs.automation.sensors import refresh_missed_updates
from commercepulse.defs.instance_queries import SENSOR_INTERVAL
from commercepulse.defs.platform.jobs import HISTORY_CHECKS as PLATFORM_HISTORY_CHECKS
from commercepulse.defs.table_assets import WHOLE_HISTORY
from commercepulse.defs.warehouse.jobs import BUSINESS_DAY_CHECKS

WHOLE_HISTORY_TABLES = dg.AssetSelection.tag(*next(iter(WHOLE_HISTORY.items())))
#: What a refresh runs: the whole-history tables, their checks, the business-day checks and the
#: platform's whole-history checks.
REFRESH = WHOLE_HISTORY_TABLES | BUSINESS_DAY_CHECKS | PLATFORM_HISTORY_CHECKS
refresh_job = dg.define_asset_job(
    "refresh_job",
    selection=REFRESH,
    description="Judge all business days (checks) and recompute the whole-history tables (dim_date, "
    "KPIs, Gold).",
)
refresh_sensor = dg.AutomationConditionSensorDefinition(
    "refresh_whole_history",
    target=REFRESH | dg.AssetSelection.all_asset_checks(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=SENSOR_INTERVAL,
    description="After facts change: their checks, then KPIs and Gold once the blocking checks passed.",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[refresh_job], sensors=[refresh_sensor, refresh_missed_updates])
