"""The daily safety net of live ingestion."""

import dagster as dg

from commercepulse.data_files import live_files
from commercepulse.defs.instance_queries import latest_materialization
from commercepulse.defs.partitions import INGESTION_DAILY, valid_days
from commercepulse.defs.raw.jobs import ingest_job
from commercepulse.defs.resources import ProjectSettings


@dg.schedule(
    name="daily_ingest",
    cron_schedule="0 1 * * *",
    job=ingest_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Safety net beside new_data_files: every day at 01:00 UTC, land any live ingestion "
    "day whose file exists but whose partition was never landed.",
)
def daily_ingest(context: dg.ScheduleEvaluationContext, settings: ProjectSettings):
    pending = [
        f.day
        for f in live_files(settings.data_path)
        if valid_days([f.day], INGESTION_DAILY)
        and latest_materialization(context.instance, "events_raw", f.day) is None
    ]
    if not pending:
        return dg.SkipReason("every live ingestion day present in DATA_DIR is landed")
    return [dg.RunRequest(run_key=f"daily_ingest:{day}", partition_key=day) for day in pending]
