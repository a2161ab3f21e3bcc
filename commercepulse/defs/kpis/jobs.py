"""The KPI domain's job: explain a figure from the UI (Launchpad config: KPI, key, vendor).

The run shows the fact rows behind the figure, each with its raw events (file:line, ingestion day)
and the run that wrote it, and whether they add up to the KPI exactly; the same explanation is
recorded on the KPI asset (an observation), so it stays beside the figure it explains.
"""

import dagster as dg
from pydantic import Field

from commercepulse.defs.job_names import EXPLAIN_JOB
from commercepulse.defs.metadata import md_table
from commercepulse.defs.resources import MongoResource
from commercepulse.defs.retries import mongo_retries
from commercepulse.errors import InputError
from commercepulse.explain import EXPLAINERS, Explanation, explain, latest_key
from commercepulse.warehouse.base import Warehouse

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
