"""Alerts: failed runs and failing ERROR or blocking checks posted to a webhook."""

import dagster as dg

from commercepulse.defs.alerts.sensors import alert_sensor
from commercepulse.defs.resources import alerts_configured


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[alert_sensor(alerts_configured())])
