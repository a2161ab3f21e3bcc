"""The platform domain: Bronze, Silver and Gold of the platform's own sources, and the job that
lands and cleans a window of their ingestion days."""

import dagster as dg

from commercepulse.defs.platform.assets import (
    GOLD_ASSETS,
    PLATFORM_CHECKS,
    platform_raw,
    platform_silver,
)

platform_job = dg.define_asset_job(
    "platform_job",
    selection=dg.AssetSelection.groups("platform_bronze", "platform_silver"),
    description="Land (Bronze) and clean (Silver) the platform source files of ingestion days.",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[platform_raw, platform_silver, *GOLD_ASSETS.values()],
        asset_checks=PLATFORM_CHECKS,
        jobs=[platform_job],
    )
