"""The feeds domain: each vendor's feed per ingestion day and its anomaly check."""

import dagster as dg

from commercepulse.defs.feeds.assets import FEED_CHECKS, vendor_feed_daily

feeds_job = dg.define_asset_job(
    "feeds_job",
    selection=[vendor_feed_daily],
    description="Recompute the vendor feed figures of ingestion days (after a mapping change; ingest_job builds them "
    "with each landing).",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[vendor_feed_daily], asset_checks=FEED_CHECKS, jobs=[feeds_job])
