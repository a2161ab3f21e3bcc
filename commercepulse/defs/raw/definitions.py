"""The raw domain: landing assets, their checks, the ingestion jobs."""

import dagster as dg

from commercepulse.defs.raw.assets import RAW_CHECKS, bootstrap_events, events_raw

bootstrap_job = dg.define_asset_job(
    "bootstrap_job",
    selection=[bootstrap_events],
    description="Land the historical dumps (DATA_DIR/bootstrap).",
)
ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets(events_raw, "kpi_late_arrivals", "vendor_feed_daily"),
    description="Land live ingestion days, their late/duplicate figures and each vendor's feed figures.",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[bootstrap_events, events_raw],
        asset_checks=RAW_CHECKS,
        jobs=[bootstrap_job, ingest_job],
    )
