"""The feeds domain: each vendor's feed per ingestion day and its anomaly check."""
import dagster as dg

from commercepulse.defs.feeds.assets import FEED_CHECKS, vendor_feed_daily


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[vendor_feed_daily], asset_checks=FEED_CHECKS)
