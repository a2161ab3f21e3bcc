"""The Dagster code location: each domain's definitions (defs/<domain>/definitions.py) merged
with the resources built from the settings."""

from __future__ import annotations

import dagster as dg

from commercepulse.defs.automation import definitions as automation
from commercepulse.defs.feeds import definitions as feeds
from commercepulse.defs.kpis import definitions as kpis
from commercepulse.defs.platform import definitions as platform
from commercepulse.defs.raw import definitions as raw
from commercepulse.defs.reports import definitions as reports
from commercepulse.defs.resources import build_resources
from commercepulse.defs.staging import definitions as staging
from commercepulse.defs.warehouse import definitions as warehouse
from commercepulse.settings import load_settings

DOMAINS = (raw, staging, warehouse, kpis, feeds, platform, reports, automation)


def build_definitions(resources: dict) -> dg.Definitions:
    """Every domain's assets, checks, jobs, sensors and schedules, with these resources."""
    return dg.Definitions.merge(
        *(domain.defs() for domain in DOMAINS),
        # DuckDB allows one writer: a run's steps go one after another in its process.
        dg.Definitions(resources=resources, executor=dg.in_process_executor),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(build_resources(load_settings()))
