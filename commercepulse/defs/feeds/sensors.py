"""A new or changed vendor mapping file re-stages what it maps: the landings of unmapped events
are recorded again (their business days are then rebuilt and reported, as after a landing) and
their ingestion days' feed figures recomputed."""

import dagster as dg

from commercepulse.defs.feeds.jobs import feeds_job
from commercepulse.defs.instance_queries import SENSOR_INTERVAL
from commercepulse.defs.landing_contract import landing_metadata, trigger
from commercepulse.defs.partitions import INGESTION_DAILY, day_range_request, valid_days
from commercepulse.defs.resources import MongoResource, ProjectSettings
from commercepulse.lib.days import contiguous_ranges
from commercepulse.raw.audit import landing_days_of
from commercepulse.vendors.mapping_files import FOLDER, fingerprint
from commercepulse.warehouse.base import Warehouse

UNMAPPED_EVENTS = "SELECT event_id, event_date FROM stg_unmapped"
#: The cursor of "no mapping file" (an empty cursor is stored as none by the daemon: not a first look).
NO_MAPPINGS = "built-in only"


@dg.sensor(
    name="restage_on_mapping_change",
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    job=feeds_job,
    description="When a vendor mapping file (DATA_DIR/mappings/*.json) is added or changed, the "
    "landings of unmapped events are recorded again (so their business days are rebuilt and "
    "reported, as after a landing) and their ingestion days' vendor feed figures are recomputed.",
)
def restage_on_mapping_change(
    context: dg.SensorEvaluationContext,
    settings: ProjectSettings,
    mongo: MongoResource,
    warehouse: dg.ResourceParam[Warehouse],
):
    current = fingerprint(settings.data_path / FOLDER) or NO_MAPPINGS
    if context.cursor is None or context.cursor == current:
        context.update_cursor(current)
        return dg.SkipReason("the vendor mappings are unchanged")
    context.update_cursor(current)
    landings = landing_days_of(mongo.db(), warehouse.query(UNMAPPED_EVENTS))
    if not landings:
        return dg.SkipReason("the mappings changed; no unmapped event is waiting")

    def metadata(days):
        return landing_metadata(days, reason=f"vendor mappings changed ({current[:12]})")

    events = [
        dg.AssetMaterialization("events_raw", partition=day, metadata=metadata(days))
        for day, days in sorted(landings.items())
        if day
    ]
    if "" in landings:
        events.append(dg.AssetMaterialization("bootstrap_events", metadata=metadata(landings[""])))
    days = valid_days(sorted(day for day in landings if day), INGESTION_DAILY)
    runs = [
        day_range_request(
            f"remap-feeds:{current[:12]}:{first}:{last}",
            first,
            last,
            trigger("restage_on_mapping_change"),
            job_name=feeds_job.name,
        )
        for first, last in contiguous_ranges(days, bridge=31)
    ]
    return dg.SensorResult(run_requests=runs, asset_events=events)
