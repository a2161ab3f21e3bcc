"""The feeds domain: each vendor's feed per ingestion day, its anomaly check, the job that
recomputes it and the sensor that re-stages after a mapping change."""

import dagster as dg

from commercepulse.defs.feeds.assets import FEED_CHECKS, vendor_feed_daily
from commercepulse.defs.feeds.jobs import feeds_job
from commercepulse.defs.feeds.sensors import restage_on_mapping_change


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[vendor_feed_daily],
        asset_checks=FEED_CHECKS,
        jobs=[feeds_job],
        sensors=[restage_on_mapping_change],
    )
