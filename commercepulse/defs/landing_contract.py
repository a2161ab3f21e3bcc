"""The landing record: what a landing writes and the sensors read, defined once.

Every materialization of a vendor landing asset (`bootstrap_events`, `events_raw`, the CLI's
quarantine replay, the re-staging after a mapping change) carries the business days it touched under `BUSINESS_DAYS`: the
reconcile and report sensors rebuild and report exactly those days. Every run the platform
starts says who started it in the `TRIGGER` tag. Renaming either here renames it everywhere.
"""

import os
from collections.abc import Iterable, Mapping

#: The assets whose materializations are landings (the CLI's replay and a mapping change record them too).
LANDING_ASSETS = ("events_raw", "bootstrap_events")
BUSINESS_DAYS = "business_days"
TRIGGER = "commercepulse/trigger"
#: On a rebuild run planned from landings: the storage id of the latest landing it was planned
#: from (the refresh waits until every landed day has such a run).
LANDED_THROUGH = "commercepulse/landed_through"
#: On a run executed in the process that started it (the CLI's runs): that process's id, so a
#: run left STARTED by a killed CLI is found dead (`run_recovery`); launched runs report theirs.
PROCESS = "commercepulse/process"
#: The sensor that plans the rebuild of landed business days (its runs carry `LANDED_THROUGH`).
RECONCILE = "reconcile_business_days"


def landing_metadata(business_days: Iterable[str], **extra) -> dict:
    """A landing's metadata: the business days it touched (sorted) and any other figures."""
    return {BUSINESS_DAYS: sorted(business_days), **extra}


def business_days_of(metadata: Mapping) -> list[str]:
    """The business days a landing record touched ([] for a record written before the contract)."""
    value = metadata.get(BUSINESS_DAYS)
    return list(getattr(value, "value", value) or [])


def trigger(name: str) -> dict[str, str]:
    """The tag of a run started by `name` (a sensor, the CLI)."""
    return {TRIGGER: name}


def in_this_process() -> dict[str, str]:
    """The tag of a run executed in this process (`execute_in_process`)."""
    return {PROCESS: str(os.getpid())}
