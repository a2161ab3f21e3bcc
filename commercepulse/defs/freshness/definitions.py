"""Freshness: the live stream's latest due day and the KPIs after the last landing."""

import dagster as dg

from commercepulse.defs.freshness.checks import FRESHNESS_CHECKS
from commercepulse.defs.freshness.sensors import freshness_sensor


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=FRESHNESS_CHECKS, sensors=[freshness_sensor])
