"""The raw domain's jobs: the dumps, and live ingestion days with their per-day figures."""

import dagster as dg

from commercepulse.defs.asset_checks import with_per_day_checks
from commercepulse.defs.job_names import BOOTSTRAP_JOB, INGEST_JOB
from commercepulse.defs.raw.assets import bootstrap_events, events_raw

bootstrap_job = dg.define_asset_job(
    BOOTSTRAP_JOB,
    selection=[bootstrap_events],
    description="Land the historical dumps (DATA_DIR/bootstrap).",
)
ingest_job = dg.define_asset_job(
    INGEST_JOB,
    selection=with_per_day_checks(
        dg.AssetSelection.assets(events_raw, "kpi_late_arrivals", "vendor_feed_daily")
    ),
    description="Land live ingestion days, their late/duplicate figures and each vendor's feed figures.",
)
