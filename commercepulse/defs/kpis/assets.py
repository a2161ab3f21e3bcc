"""KPI tables (recomputed from the facts when they change), the late-arrivals KPI per ingestion
day, and the revenue-drift check against the reported snapshots."""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from commercepulse.defs.asset_checks import asset_checks
from commercepulse.defs.landing_contract import LANDING_ASSETS, business_days_of
from commercepulse.defs.metadata import row_count, table_metadata_spec
from commercepulse.defs.partitions import INGESTION_DAILY, SINGLE_RUN, WAREHOUSE_KIND, window_days
from commercepulse.defs.resources import ProjectSettings
from commercepulse.defs.table_assets import WHOLE_HISTORY, upstream_deps, whole_asset
from commercepulse.staging.feed import FEED_OF_DAYS, late_arrivals
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.kpi_catalogue import VENDOR_KPIS
from commercepulse.warehouse.kpi_history import record_versions
from commercepulse.warehouse.lateness import vendor_lateness
from commercepulse.warehouse.restatements import all_restatements
from commercepulse.warehouse.schema import ALL_TABLES, KPIS

KPI_GROUP = "kpis"
KPI_ASSETS = {
    name: whole_asset(
        name,
        kpi.statements,
        upstream_deps(name),
        KPI_GROUP,
        metadata={
            "explain": f"commercepulse explain {name} {kpi.explainer.key.upper()} [--vendor V] "
            "[--json]: the fact rows, raw events (file, line, ingestion day) and runs behind a "
            "figure"
        }
        if kpi.explainer
        else None,
    )
    for name, kpi in VENDOR_KPIS.items()
}


@dg.asset(
    group_name=KPI_GROUP,
    kinds={WAREHOUSE_KIND},
    partitions_def=INGESTION_DAILY,
    backfill_policy=SINGLE_RUN,
    deps=upstream_deps("kpi_late_arrivals"),
    description=KPIS["kpi_late_arrivals"].description,
    metadata=table_metadata_spec("kpi_late_arrivals"),
)
def kpi_late_arrivals(
    context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]
) -> dg.MaterializeResult:
    """Per live ingestion day: the vendor feed figures summed over vendors (the raw events and
    sightings were counted once, by `vendor_feed_daily`)."""
    start, end = window_days(context)
    frame = late_arrivals(warehouse.query(FEED_OF_DAYS, {"start": start, "end": end}))
    warehouse.replace_partitions({"kpi_late_arrivals": frame}, start, end)
    versions = record_versions(
        warehouse, "kpi_late_arrivals", context.run.run_id, datetime.now(UTC), (start, end)
    )
    return dg.MaterializeResult(
        metadata=row_count("kpi_late_arrivals", warehouse)
        | {"days": [str(d.date()) for d in frame["ingestion_date"]], "versions_recorded": versions}
    )


@dg.asset(
    group_name=KPI_GROUP,
    kinds={WAREHOUSE_KIND},
    deps=upstream_deps("kpi_vendor_lateness"),
    tags=WHOLE_HISTORY,
    description=KPIS["kpi_vendor_lateness"].description
    + ": the KPIs mark each day is_final from it (warehouse/lateness.py)",
    metadata=table_metadata_spec("kpi_vendor_lateness"),
)
def kpi_vendor_lateness(
    context: dg.AssetExecutionContext,
    warehouse: dg.ResourceParam[Warehouse],
    settings: ProjectSettings,
) -> dg.MaterializeResult:
    """Each vendor's lateness from its staged live events; read by the KPIs' is_final."""
    frame = vendor_lateness(warehouse, settings.final_lag_quantile, settings.final_lag_window_days)
    warehouse.replace_table("kpi_vendor_lateness", frame)
    versions = record_versions(
        warehouse, "kpi_vendor_lateness", context.run.run_id, datetime.now(UTC)
    )
    return dg.MaterializeResult(
        metadata=row_count("kpi_vendor_lateness", warehouse)
        | {
            "final_through": {r.vendor: str(r.final_through)[:10] for r in frame.itertuples()},
            "lag_hours": {r.vendor: float(r.lag_hours) for r in frame.itertuples()},
            "rule": f"a day is final once each vendor's newest live event is later than the "
            f"day's end by the {settings.final_lag_quantile:.0%} quantile of its days' last "
            f"arrivals over {settings.final_lag_window_days} days",
            "versions_recorded": versions,
        }
    )


@dg.asset(
    group_name=KPI_GROUP,
    kinds={WAREHOUSE_KIND},
    deps=upstream_deps("kpi_restatements"),
    tags=WHOLE_HISTORY,
    description=ALL_TABLES["kpi_restatements"].description,
    metadata=table_metadata_spec("kpi_restatements"),
)
def kpi_restatements(
    context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]
) -> dg.MaterializeResult:
    """Every change of a published KPI value: first value, before, now, and what landed for its
    day in between (net revenue: also the events behind it)."""
    frame = all_restatements(warehouse, landing_records(context.instance))
    warehouse.replace_table("kpi_restatements", frame)
    latest = frame.sort_values("restated_at").tail(10)
    return dg.MaterializeResult(
        metadata=row_count("kpi_restatements", warehouse)
        | {
            "latest": dg.MetadataValue.md(
                "\n".join(f"- {line}" for line in latest["description"]) or "none"
            ),
            "days_restated": int(frame["date"].nunique()),
            "by_kpi": {k: int(n) for k, n in frame["kpi"].value_counts().sort_index().items()},
        }
    )


#: Landing records read for the causes of restatements (newest first; a year of days and its
#: replays is well under this; Dagster reads at most 10,000 at a time).
LANDINGS_READ = 10_000


def landing_records(instance: dg.DagsterInstance) -> pd.DataFrame:
    """Every landing the instance recorded (`LANDING_ASSETS`): when, what kind (new data of an
    ingestion day, a quarantine replay, a mapping change, the dumps), and the business days it
    touched (landing_contract.py)."""
    rows = []
    for asset in LANDING_ASSETS:
        for record in instance.fetch_materializations(
            dg.AssetKey(asset), limit=LANDINGS_READ
        ).records:
            event = record.asset_materialization
            reason = event.metadata.get("reason")
            if asset == "bootstrap_events":
                kind = "the dumps landed"
            elif reason is not None and "mapping" in str(getattr(reason, "value", reason)):
                kind = "a vendor mapping change re-staged ingestion day"
            elif "replay" in (event.description or ""):
                kind = "a quarantine replay into ingestion day"
            else:
                kind = "new data of ingestion day"
            rows.append(
                {
                    "landed_at": pd.Timestamp(record.timestamp, unit="s", tz="UTC"),
                    "kind": kind,
                    "partition": record.partition_key or "",
                    "touched": business_days_of(event.metadata),
                }
            )
    return pd.DataFrame(rows, columns=["landed_at", "kind", "partition", "touched"])


KPI_CHECKS = asset_checks(KPI_ASSETS["kpi_daily_revenue"])
