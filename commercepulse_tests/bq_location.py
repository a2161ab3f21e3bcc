"""Test harness only: the product's code location with its BigQuery warehouse on the emulator
(BQ_EMULATOR_ENDPOINT), for `dagster dev -m commercepulse_tests.bq_location`. Everything else
(settings, resources, jobs, sensors, the run topology) is the product's own."""

from __future__ import annotations

import os

import dagster as dg

from commercepulse.definitions import build_definitions
from commercepulse.defs.resources import build_resources, run_topology
from commercepulse.settings import load_settings


@dg.definitions
def defs() -> dg.Definitions:
    from commercepulse_tests.bq_emulator import EmulatorBigQuery, EmulatorWarehouse

    settings = load_settings()
    client = EmulatorBigQuery(
        project=settings.bq_project,
        location=settings.bq_location,
        api_endpoint=os.environ["BQ_EMULATOR_ENDPOINT"],
    )
    warehouse = EmulatorWarehouse(
        project=settings.bq_project,
        location=settings.bq_location,
        dataset=settings.bq_dataset,
        connect=client.get_client,
    )
    return build_definitions(
        build_resources(settings, warehouse), settings.asset_owners, run_topology(settings)
    )
