"""The raw domain: landing assets, their checks, the ingestion jobs, the sensor that lands new
files and the daily ingestion schedule."""

import dagster as dg

from commercepulse.defs.raw.assets import RAW_CHECKS, bootstrap_events, events_raw
from commercepulse.defs.raw.jobs import bootstrap_job, ingest_job
from commercepulse.defs.raw.schedules import daily_ingest
from commercepulse.defs.raw.sensors import new_data_files


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[bootstrap_events, events_raw],
        asset_checks=RAW_CHECKS,
        jobs=[bootstrap_job, ingest_job],
        sensors=[new_data_files],
        schedules=[daily_ingest],
    )
