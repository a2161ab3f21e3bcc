"""The KPI domain: KPI tables, late arrivals per ingestion day, revenue drift and its
acknowledgements, day annotations (the KPI anomalies' calendar of expected unusual days)."""

import dagster as dg

from commercepulse.defs.kpis.acknowledgements import revenue_acknowledgements
from commercepulse.defs.kpis.annotations import day_annotations
from commercepulse.defs.kpis.assets import (
    KPI_ASSETS,
    KPI_CHECKS,
    kpi_late_arrivals,
    kpi_restatements,
    kpi_vendor_lateness,
)
from commercepulse.defs.kpis.jobs import explain_job, why_job


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[
            *KPI_ASSETS.values(),
            kpi_late_arrivals,
            kpi_restatements,
            kpi_vendor_lateness,
            revenue_acknowledgements,
            day_annotations,
        ],
        asset_checks=KPI_CHECKS,
        jobs=[explain_job, why_job],
    )
