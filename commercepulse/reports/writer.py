"""Daily data-quality reports (SPEC §10): `REPORTS_DIR/YYYY-MM-DD/` with quality.json,
report.html (self-contained: tables and charts embedded) and the PNG charts.

Content depends only on the warehouse and raw store, so re-running writes the same files,
apart from the `generated_at` line of the JSON and HTML.
"""
from __future__ import annotations

import base64
import html
import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import orjson  # noqa: E402
import pandas as pd  # noqa: E402
from pymongo.database import Database  # noqa: E402

from commercepulse.checks import rules  # noqa: E402
from commercepulse.raw.audit import late_arrival_stats  # noqa: E402
from commercepulse.warehouse.base import Warehouse  # noqa: E402

CHART_DAYS = 60
FACT_TABLES = ("fact_orders", "fact_payments", "fact_refunds", "fact_shipments", "fact_order_daily")
PNG_METADATA = {"Software": None}  # no version stamp: same data => same bytes


def day_outcomes(db: Database, wh: Warehouse, day: date, settings: rules.Thresholds) -> list[rules.Outcome]:
    end = day + timedelta(days=1)
    stats = late_arrival_stats(db, day, end, settings.late_threshold_hours)
    outcomes = [
        rules.duplicate_event_rate(db, day, end, settings, stats), rules.late_arriving_pct(db, day, end, settings, stats),
        rules.payments_without_order(wh, day, end, settings), rules.refunds_without_payment(wh, day, end, settings),
        rules.over_refunded_orders(wh, day, end, settings), rules.schema_drift(wh, day, end, settings),
        rules.completeness(*rules.completeness_counts(db, wh, day, end)),
    ]
    drift = rules.revenue_drift(wh, settings)
    day_drift = drift.details["days_changed"].get(day.isoformat(), 0.0)
    outcomes.append(rules.Outcome("revenue_drift", abs(day_drift) <= settings.check_revenue_drift_max_ngn,
                                  day_drift, settings.check_revenue_drift_max_ngn, rules.WARN))
    for table in FACT_TABLES:
        outcome = rules.key_integrity(wh, table, day, end)
        outcome.name = f"key_integrity:{table}"
        outcomes.append(outcome)
    return outcomes


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    return orjson.loads(orjson.dumps(out.to_dict("records"), option=orjson.OPT_SERIALIZE_NUMPY))


KPI_QUERIES = {
    "daily_revenue": ("SELECT * FROM kpi_daily_revenue WHERE date >= $start AND date < $end", "date"),
    "vendor_payment_success": ("SELECT * FROM kpi_vendor_payment_success WHERE date >= $start AND date < $end "
                               "ORDER BY vendor", "date"),
    "order_to_payment": ("SELECT * FROM kpi_order_to_payment WHERE date >= $start AND date < $end ORDER BY vendor",
                         "date"),
    "refund_rate": ("SELECT * FROM kpi_refund_rate WHERE date >= $start AND date < $end", "date"),
    "late_arrivals": ("SELECT * FROM kpi_late_arrivals WHERE ingestion_date >= $start AND ingestion_date < $end",
                      "ingestion_date"),
    "order_daily": ("SELECT * EXCLUDE (run_id) FROM fact_order_daily WHERE date >= $start AND date < $end "
                    "ORDER BY vendor", "date"),
}


class WindowKpis:
    """The KPI rows of a window, read once and served per day (one query per table)."""

    def __init__(self, wh: Warehouse, start: date, end: date) -> None:
        params = {"start": start, "end": end}
        self.frames = {name: wh.query(sql, params) for name, (sql, _) in KPI_QUERIES.items()}
        self.top = _records(wh.query("SELECT * FROM kpi_top_products WHERE rank <= 5 ORDER BY rank"))

    def day(self, day: date) -> dict[str, list[dict[str, Any]]]:
        stamp = pd.Timestamp(day)
        out = {name: _records(frame[frame[KPI_QUERIES[name][1]] == stamp])
               for name, frame in self.frames.items()}
        out["top_products"] = self.top
        return out


_FIGURES: dict[str, tuple] = {}


def _axes(name: str, size: tuple[float, float]):
    """A cleared, reused figure per chart: creating figures dominates the cost of a report."""
    if name not in _FIGURES:
        fig = plt.figure(figsize=size)
        fig.subplots_adjust(left=0.12, right=0.97, top=0.88, bottom=0.25)  # fixed: layout solvers cost 2x
        _FIGURES[name] = (fig, fig.add_subplot())
    fig, ax = _FIGURES[name]
    ax.clear()
    return fig, ax


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72, metadata=PNG_METADATA)
    return buffer.getvalue()


def charts(wh: Warehouse, day: date) -> dict[str, bytes]:
    since = {"since": day - timedelta(days=CHART_DAYS), "day": day}
    revenue = wh.query("SELECT * FROM kpi_daily_revenue WHERE date > $since AND date <= $day ORDER BY date", since)
    late = wh.query("SELECT * FROM kpi_late_arrivals WHERE ingestion_date > $since AND ingestion_date <= $day "
                    "ORDER BY ingestion_date", since)
    success = wh.query("SELECT * FROM kpi_vendor_payment_success WHERE date = $day ORDER BY vendor", {"day": day})
    out: dict[str, bytes] = {}
    fig, ax = _axes("revenue", (7, 3))
    ax.plot(revenue["date"], revenue["gross_revenue_ngn"], label="gross")
    ax.plot(revenue["date"], revenue["net_revenue_ngn"], label="net")
    ax.set_title(f"Revenue (NGN), {CHART_DAYS} days to {day}")
    ax.legend(loc="upper left")
    ax.tick_params(axis="x", labelrotation=30)
    out["revenue.png"] = _png(fig)
    fig, ax = _axes("quality", (7, 3))
    ax.plot(late["ingestion_date"], late["duplicate_rate"] * 100, marker="o", label="duplicate %")
    ax.plot(late["ingestion_date"], late["late_pct"] * 100, marker="o", label="late %")
    ax.set_title("Live ingestion quality by ingestion day")
    ax.legend(loc="upper left")
    ax.tick_params(axis="x", labelrotation=30)
    out["quality_rates.png"] = _png(fig)
    fig, ax = _axes("success", (5, 3))
    ax.bar(success["vendor"], success["success_rate"] * 100)
    ax.set_ylim(0, 100)
    ax.set_title(f"Payment success % by vendor, {day}")
    out["payment_success.png"] = _png(fig)
    return out


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p class='empty'>no rows</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row.values()) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return "" if value is None else str(value)


def render_html(day: date, report: dict[str, Any], images: dict[str, bytes], generated_at: str) -> str:
    checks = [{"check": c["check"], "verdict": "PASS" if c["passed"] else "FAIL", "severity": c["severity"],
               "figure": c["figure"], "threshold": c["threshold"]} for c in report["checks"]]
    sections = "".join(f"<h2>{html.escape(name.replace('_', ' '))}</h2>{_table(rows)}"
                       for name, rows in report["kpis"].items())
    pictures = "".join(f"<figure><img alt='{name}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
                       f"<figcaption>{name}</figcaption></figure>" for name, png in images.items())
    failed = sum(1 for c in checks if c["verdict"] == "FAIL")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CommercePulse quality report {day}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:.5em 0 1.5em}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}th{{background:#f2f2f2}}
tr td:first-child{{text-align:left}}.FAIL{{color:#b00;font-weight:bold}}.PASS{{color:#070}}
figure{{display:inline-block;margin:0 1em 1em 0}}img{{max-width:100%}}</style></head>
<body><h1>CommercePulse data quality — {day}</h1>
<p>{len(checks)} checks, {failed} failing. <small>generated at {generated_at}</small></p>
<h2>Checks</h2>{_table(checks).replace("<td>FAIL</td>", "<td class='FAIL'>FAIL</td>").replace("<td>PASS</td>", "<td class='PASS'>PASS</td>")}
{pictures}{sections}</body></html>
"""


def write_day_report(db: Database, wh: Warehouse, day: date, reports_dir: Path, settings: rules.Thresholds,
                     kpis: WindowKpis | None = None) -> Path:
    """Write the report folder of `day`; returns it. Pass `kpis` when writing many days."""
    folder = Path(reports_dir) / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    report = {"date": day.isoformat(), "checks": [o.as_dict() for o in day_outcomes(db, wh, day, settings)],
              "kpis": (kpis or WindowKpis(wh, day, day + timedelta(days=1))).day(day)}
    generated_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    images = charts(wh, day)
    for name, png in images.items():
        (folder / name).write_bytes(png)
    payload = {"generated_at": generated_at, **report}
    (folder / "quality.json").write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    (folder / "report.html").write_text(render_html(day, report, images, generated_at), encoding="utf-8")
    return folder


PROCESSED_DAYS = """
SELECT DISTINCT d FROM (SELECT date AS d FROM fact_order_daily UNION SELECT ingestion_date FROM kpi_late_arrivals)
WHERE d >= $start AND d < $end ORDER BY d"""


def processed_days(warehouse: Warehouse, start: date, end: date) -> list[date]:
    """Days of [start, end) with business activity or a live ingestion: the days that get a report."""
    return [d.date() for d in warehouse.query(PROCESSED_DAYS, {"start": start, "end": end})["d"]]


def write_window_reports(db: Database, warehouse: Warehouse, start: date, end: date, reports_dir: Path,
                         settings: rules.Thresholds) -> list[Path]:
    """The report folder of every processed day of [start, end), reading the window's KPIs once."""
    with warehouse.session():
        kpis = WindowKpis(warehouse, start, end)
        return [write_day_report(db, warehouse, day, reports_dir, settings, kpis)
                for day in processed_days(warehouse, start, end)]
