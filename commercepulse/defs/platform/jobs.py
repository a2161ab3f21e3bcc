"""The platform domain's job: land (Bronze) and clean (Silver) a window of ingestion days."""

import dagster as dg

platform_job = dg.define_asset_job(
    "platform_job",
    selection=dg.AssetSelection.groups("platform_bronze", "platform_silver"),
    description="Land (Bronze) and clean (Silver) the platform source files of ingestion days.",
)
