"""The automation domain: new files land by themselves, touched business days are rebuilt, and
whole-history tables refresh through their automation condition. Everything is on by default."""

import dagster as dg

from commercepulse.defs.automation.sensors import (
    SENSOR_INTERVAL,
    daily_ingest,
    new_data_files,
    reconcile_business_days,
    refresh_missed_updates,
    report_touched_days,
    restage_on_mapping_change,
)
from commercepulse.defs.table_assets import WHOLE_HISTORY
from commercepulse.defs.warehouse.definitions import BUSINESS_DAY_CHECKS

WHOLE_HISTORY_TABLES = dg.AssetSelection.tag(*next(iter(WHOLE_HISTORY.items())))
#: What a refresh runs: the whole-history tables, their checks and the business-day checks.
REFRESH = WHOLE_HISTORY_TABLES | BUSINESS_DAY_CHECKS
refresh_job = dg.define_asset_job(
    "refresh_job",
    selection=REFRESH,
    description="Judge all business days (checks) and recompute the whole-history tables (dim_date, KPIs, Gold).",
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
    return dg.Definitions(
        jobs=[refresh_job],
        sensors=[
            new_data_files,
            reconcile_business_days,
            refresh_sensor,
            report_touched_days,
            restage_on_mapping_change,
            refresh_missed_updates,
        ],
        schedules=[daily_ingest],
    )
