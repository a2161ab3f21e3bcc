"""The feeds domain's job: the vendor feed figures of chosen ingestion days."""

import dagster as dg

from commercepulse.defs.feeds.assets import vendor_feed_daily
from commercepulse.defs.job_names import FEEDS_JOB

feeds_job = dg.define_asset_job(
    FEEDS_JOB,
    selection=[vendor_feed_daily],
    description="Recompute the vendor feed figures of ingestion days (after a mapping change; "
    "ingest_job builds them with each landing).",
)
