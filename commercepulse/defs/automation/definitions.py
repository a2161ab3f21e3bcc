"""The automation domain: new files land by themselves, touched business days are rebuilt, and
whole-history tables refresh through their automation condition. Everything is on by default."""
import dagster as dg

from commercepulse.defs.automation.sensors import daily_ingest, new_data_files, reconcile_business_days
from commercepulse.defs.tables import WHOLE_HISTORY

WHOLE_HISTORY_TABLES = dg.AssetSelection.tag(*next(iter(WHOLE_HISTORY.items())))
refresh_job = dg.define_asset_job("refresh_job", selection=WHOLE_HISTORY_TABLES,
                                  description="Recompute the whole-history tables (dim_date, KPIs, platform Gold).")
refresh_sensor = dg.AutomationConditionSensorDefinition(
    "refresh_whole_history", target=WHOLE_HISTORY_TABLES, default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description="Refreshes KPIs and Gold when their inputs change, after the inputs' blocking checks pass.")


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[refresh_job], sensors=[new_data_files, reconcile_business_days, refresh_sensor],
                          schedules=[daily_ingest])
