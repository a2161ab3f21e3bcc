"""The platform domain: Bronze, Silver and Gold of the platform's own sources, and the job that
lands and cleans a window of their ingestion days."""

import dagster as dg

from commercepulse.defs.platform.assets import (
    GOLD_ASSETS,
    PLATFORM_CHECKS,
    platform_raw,
    platform_silver,
)
from commercepulse.defs.platform.jobs import platform_job


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[platform_raw, platform_silver, *GOLD_ASSETS.values()],
        asset_checks=PLATFORM_CHECKS,
        jobs=[platform_job],
    )
