"""The KPI domain's jobs, run from the UI's Launchpad:

- `explain_job` (config: KPI, key, vendor): the fact rows behind a figure, each with its raw events
  (file:line, ingestion day) and the run that wrote it, and whether they add up to the KPI exactly;
- `why_job` (config: day, vs, weeks): why net revenue moved, split by vendor and cause, adding up
  to the change to the kobo (`warehouse/why.py`), each vendor's part with the explain config that
  lists its rows.

Both record what they found on the KPI asset (an observation), beside the figure it explains.
"""

from datetime import date

import dagster as dg
from pydantic import Field

from commercepulse.defs.job_names import EXPLAIN_JOB, WHY_JOB
from commercepulse.defs.metadata import md_table
from commercepulse.defs.resources import MongoResource
from commercepulse.defs.retries import mongo_retries
from commercepulse.errors import InputError
from commercepulse.explain import EXPLAINERS, Explanation, explain, latest_key
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.why import (
    PARTS,
    WHY_KPIS,
    Why,
    default_versus,
    explain_kpi,
    same_weekdays,
)

#: Rows listed in the run's metadata (the CLI's `--json` lists them all).
SHOWN_ROWS = 100


class ExplainConfig(dg.Config):
    kpi: str = Field(default="kpi_daily_revenue", description=f"one of {', '.join(EXPLAINERS)}")
    key: str = Field(
        default="",
        description="the day (YYYY-MM-DD), for kpi_top_products the SKU; empty = the latest day "
        "(the top SKU)",
    )
    vendor: str = Field(default="", description="only this vendor's rows; empty = all")


def explanation_metadata(result: Explanation) -> dict:
    """What the UI shows of an explanation: the figure, what the rows add up to, and the rows."""
    rows = [
        (
            r["role"],
            f"{r['fact']} {r['fact_key']}",
            r["vendor"],
            r["order_id"],
            r["time"],
            r["contribution"],
            str(r["run_id"])[:8],
            "; ".join(
                f"{e['event_id']} (not in events_raw)"
                if e.get("missing")
                else f"{e['event_id']} {e.get('file')}:{e.get('line')} ({e.get('ingestion_day') or '-'})"
                for e in r["events"]
            ),
        )
        for r in result.rows[:SHOWN_ROWS]
    ]
    shown = (
        len(rows) if len(rows) == len(result.rows) else f"first {len(rows)} of {len(result.rows)}"
    )
    return {
        "kpi": result.kpi,
        "key": result.key,
        "vendor": result.vendor or "all",
        "figure": result.figure,
        "listed_rows_add_up_to": result.listed,
        "matches": "n/a (a vendor's share)" if result.matches is None else result.matches,
        "contribution": result.contribution,
        "row_count": len(result.rows),
        "rows": md_table(
            ["role", "fact row", "vendor", "order", "time", "contribution", "run", "raw events"],
            rows,
            f"{shown} rows behind {result.kpi} {result.key}",
        ),
    }


@dg.op(description="Explain a KPI figure: the fact rows and raw events behind it.")
def explain_figure(
    context: dg.OpExecutionContext,
    config: ExplainConfig,
    mongo: MongoResource,
    warehouse: dg.ResourceParam[Warehouse],
):
    with mongo_retries(context):
        try:
            key = config.key.strip() or latest_key(warehouse, config.kpi)
            result = explain(warehouse, mongo.db(), config.kpi, key, config.vendor.strip() or None)
        except InputError as exc:
            raise dg.Failure(description=str(exc)) from exc
    metadata = explanation_metadata(result)
    context.log.info(
        f"{len(result.rows)} row(s) behind {result.kpi} {result.key}; they add up to "
        f"{result.listed} (matches: {metadata['matches']})"
    )
    yield dg.AssetObservation(asset_key=dg.AssetKey(result.kpi), metadata=metadata)
    yield dg.Output(None, metadata=metadata)


@dg.job(
    name=EXPLAIN_JOB,
    description="Explain a KPI figure from the UI: Launchpad config kpi, key (a day or a SKU; "
    "empty = the latest), vendor. The run and the KPI's page show the rows behind it.",
    tags={"commercepulse/kind": "explain"},
)
def explain_job():
    explain_figure()


class WhyConfig(dg.Config):
    kpi: str = Field(default="kpi_daily_revenue", description=f"one of {', '.join(WHY_KPIS)}")
    day: str = Field(default="", description="the day whose figure moved; empty = the latest")
    vs: str = Field(default="", description="the day to compare with; empty = a week before")
    weeks: int = Field(
        default=0, description="compare with the mean of the same weekday of the last N weeks"
    )


def change_metadata(why: Why) -> dict:
    """What the UI shows of a change: the lines, each vendor's parts and where their rows are."""
    metadata = {
        "kpi": why.kpi,
        "day": str(why.day),
        "compared_with": [str(d) for d in why.compared],
        "change": why.payload["change"],
        "explanation": dg.MetadataValue.md("\n".join(f"- {line.strip()}" for line in why.lines)),
        "annotations": why.payload["annotations"] or "none",
    }
    if why.revenue is not None:
        rows = [
            (
                v.vendor,
                f"{v.before:,.2f}",
                f"{v.now:,.2f}",
                f"{v.change:+,.2f}",
                *(f"{v.parts[p]:+,.2f}" for p in PARTS),
                f"explain_job: kpi kpi_daily_revenue, key {why.day}, vendor {v.vendor}",
            )
            for v in why.revenue.vendors
        ]
        metadata["parts"] = md_table(
            ["vendor", "before", "now", "change", *PARTS, "its rows"],
            rows,
            "each vendor's change by cause (the parts add up to the change to the kobo)",
        )
    return metadata


@dg.op(description="Why a KPI moved: the change split by vendor (and, for revenue, by cause).")
def explain_change_op(
    context: dg.OpExecutionContext, config: WhyConfig, warehouse: dg.ResourceParam[Warehouse]
):
    if config.kpi not in WHY_KPIS:
        raise dg.Failure(description=f"kpi is one of {', '.join(WHY_KPIS)}, not {config.kpi!r}")
    try:
        day = (
            date.fromisoformat(config.day.strip())
            if config.day.strip()
            else date.fromisoformat(latest_key(warehouse, "kpi_daily_revenue"))
        )
        compared = (
            [date.fromisoformat(config.vs.strip())]
            if config.vs.strip()
            else same_weekdays(day, config.weeks)
            if config.weeks > 0
            else [default_versus(day)]
        )
    except (ValueError, InputError) as exc:
        raise dg.Failure(description=f"day and vs are YYYY-MM-DD: {exc}") from exc
    why = explain_kpi(warehouse, config.kpi, day, compared)
    metadata = change_metadata(why)
    for line in why.lines:
        context.log.info(line)
    yield dg.AssetObservation(asset_key=dg.AssetKey("kpi_daily_revenue"), metadata=metadata)
    yield dg.Output(None, metadata=metadata)


@dg.job(
    name=WHY_JOB,
    description="Why a KPI moved, from the UI: Launchpad config kpi (kpi_daily_revenue, orders, "
    "kpi_vendor_payment_success), day (empty = the latest), vs (empty = a week before) or weeks "
    "(the mean of the same weekday of the last N weeks). The run and the KPI's page show the "
    "change by vendor and cause.",
    tags={"commercepulse/kind": "explain"},
)
def why_job():
    explain_change_op()
