"""The staging domain: the canonical frames with their completeness checks."""

import dagster as dg

from commercepulse.defs.staging.assets import STAGING_CHECKS, staging


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[staging], asset_checks=STAGING_CHECKS)
