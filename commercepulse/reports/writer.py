"""Daily data-quality reports (SPEC §10): `REPORTS_DIR/YYYY-MM-DD/` with quality.json,
report.html (self-contained: tables and charts embedded) and the SVG charts.

A window of days is written with a few queries for the whole window (KPIs, chart series, check
outcomes), and a day whose content and chart inputs are unchanged
since its last report is left as it is. Each file is written to a temporary name and renamed,
so a report is never half-written. Content depends only on the warehouse and raw store: a
re-run gives the same files, apart from the `generated_at` line of the JSON and HTML.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
from pymongo.database import Database

from commercepulse.checks.catalogue import outcomes_for_days
from commercepulse.checks.kpi_anomalies import revenue_band
from commercepulse.checks.outcome import Outcome, Thresholds
from commercepulse.checks.spec import RuleInputs
from commercepulse.lib.privacy import mask_personal
from commercepulse.reports.chart_inputs import CHART_DAYS, CHART_NAMES, Track, inputs
from commercepulse.reports.html_page import render_html
from commercepulse.reports.sections import CAUSED_SECTION
from commercepulse.reports.svg_charts import day_charts
from commercepulse.warehouse import annotations
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.late_part import expected_late, late_lines
from commercepulse.warehouse.why import (
    changes_for_days,
    headline,
    mover_lines,
    movers_a_week_apart,
    read_lines,
)

DAY = timedelta(days=1)
#: Bump when the report layout changes, so unchanged days are rewritten once in the new layout.
REPORT_VERSION = 8
#: Chart files of earlier versions (PNG), removed when a day's report is rewritten.
LEGACY_CHARTS = ("revenue.png", "quality_rates.png", "payment_success.png", "vendor_feed.png")


def window_outcomes(
    db: Database, wh: Warehouse, start: date, end: date, settings: Thresholds
) -> dict[date, list[Outcome]]:
    """Every catalogued check's outcome for every day of [start, end): the same table the asset
    checks are built from, each rule judging the window with a few queries (per-day variants
    where a rule has one, counting rules split only where they find something)."""
    return outcomes_for_days(RuleInputs(lambda: db, wh, settings), start, end)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    return orjson.loads(orjson.dumps(out.to_dict("records"), option=orjson.OPT_SERIALIZE_NUMPY))


KPI_QUERIES = {
    "daily_revenue": (
        "SELECT * FROM kpi_daily_revenue WHERE date >= $start AND date < $end",
        "date",
    ),
    "vendor_payment_success": (
        "SELECT * FROM kpi_vendor_payment_success WHERE date >= $start AND date < $end "
        "ORDER BY vendor",
        "date",
    ),
    "order_to_payment": (
        "SELECT * FROM kpi_order_to_payment WHERE date >= $start AND date < $end ORDER BY vendor",
        "date",
    ),
    "refund_rate": ("SELECT * FROM kpi_refund_rate WHERE date >= $start AND date < $end", "date"),
    "late_arrivals": (
        "SELECT * FROM kpi_late_arrivals WHERE ingestion_date >= $start AND ingestion_date < $end",
        "ingestion_date",
    ),
    "order_daily": (
        "SELECT * EXCLUDE (run_id) FROM fact_order_daily WHERE date >= $start AND date < $end "
        "ORDER BY vendor",
        "date",
    ),
    "vendor_feed": (
        "SELECT ingestion_date, vendor, events, payments, payment_success_rate, duplicate_rate, late_pct, "
        "unmapped_share, median_lag_minutes, flagged, anomalies FROM vendor_feed_daily "
        "WHERE ingestion_date >= $start AND ingestion_date < $end ORDER BY vendor",
        "ingestion_date",
    ),
    "restatements": (
        "SELECT date, kpi, vendor, column_name, before_value, now_value, delta, description, "
        "run_id FROM kpi_restatements WHERE date >= $start AND date < $end "
        "ORDER BY restated_at, run_id, kpi, vendor, column_name",
        "date",
    ),
}


#: Restatements of any day caused by events that landed on a day of the window (`landed_days`).
CAUSED = (
    "SELECT date, kpi, vendor, column_name, before_value, now_value, delta, landed_days, "
    "description, run_id FROM kpi_restatements WHERE landed_days IS NOT NULL AND "
    "landed_days <> '' ORDER BY restated_at, run_id, date, kpi, vendor, column_name"
)


class WindowKpis:
    """The KPI rows of a window, read once and served per day (one query per table)."""

    def __init__(self, wh: Warehouse, start: date, end: date) -> None:
        params = {"start": start, "end": end}
        self.by_day: dict[str, dict[str, list]] = {}
        for name, (sql, day_column) in KPI_QUERIES.items():
            frame = wh.query(sql, params)
            days = frame[day_column].dt.strftime("%Y-%m-%d").tolist()
            for day, record in zip(days, _records(frame)):
                self.by_day.setdefault(day, {}).setdefault(name, []).append(record)
        caused = wh.query(CAUSED)
        for record in _records(caused):
            for landed in record.pop("landed_days").split(","):
                if start.isoformat() <= landed < end.isoformat():
                    self.by_day.setdefault(landed, {}).setdefault(CAUSED_SECTION, []).append(record)
        self.top = _records(
            wh.query("SELECT * FROM kpi_top_products WHERE rank <= 5 ORDER BY rank")
        )

    def day(self, day: date) -> dict[str, list[dict[str, Any]]]:
        rows = self.by_day.get(day.isoformat(), {})
        return {
            **{name: rows.get(name, []) for name in (*KPI_QUERIES, CAUSED_SECTION)},
            "top_products": self.top,
        }


EDGES = """
SELECT (SELECT min(ingestion_date) FROM kpi_late_arrivals) AS first_ingestion,
       (SELECT max(ingestion_date) FROM kpi_late_arrivals) AS last_ingestion,
       (SELECT max(event_date) FROM stg_orders WHERE source_kind = 'bootstrap') AS last_dump_day"""


class DataEdges:
    """Where the data is partial: business days the live stream covers only through late events
    (after the dumps, before its first ingestion day) and days from its last ingestion day on
    (their late events have not arrived yet). Without a live stream, no day is partial."""

    def __init__(self, wh: Warehouse) -> None:
        row = wh.query(EDGES).iloc[0]
        as_day = lambda v: None if pd.isna(v) else pd.Timestamp(v).date()  # noqa: E731
        self.first, self.last = as_day(row["first_ingestion"]), as_day(row["last_ingestion"])
        self.last_dump = as_day(row["last_dump_day"])

    def partial(self, day: date) -> str:
        """Why `day` is partial ("" when it is not)."""
        if self.first is None or self.last is None:
            return ""
        if day >= self.last:
            return f"late events for this day may still arrive (last ingestion day {self.last})"
        if day < self.first and (self.last_dump is None or day > self.last_dump):
            return f"before the live stream's first ingestion day ({self.first}): late events only"
        return ""

    def mask(self, days: pd.Series) -> pd.Series:
        return days.map(lambda d: bool(self.partial(pd.Timestamp(d).date())))


class WindowCharts:
    """The chart series of a window, read once (from CHART_DAYS before it) and cut per day."""

    def __init__(
        self, wh: Warehouse, start: date, end: date, edges: DataEdges, settings: Thresholds
    ) -> None:
        since = {"since": start - timedelta(days=CHART_DAYS), "end": end}
        revenue = wh.query(
            "SELECT date, gross_revenue_ngn, net_revenue_ngn FROM kpi_daily_revenue "
            "WHERE date > $since AND date < $end ORDER BY date",
            since,
        )
        revenue["partial"] = edges.mask(revenue["date"]).astype(bool)
        # net revenue's usual band (kpi_anomalies), drawn behind the lines
        band = revenue_band(wh, since["since"] + DAY, end, settings)
        revenue = revenue.merge(
            band.assign(date=band["date"].astype(revenue["date"].dtype)), on="date", how="left"
        )
        money = dict.fromkeys(
            ("gross_revenue_ngn", "net_revenue_ngn", "band_low", "band_high"), float
        )
        self.revenue = Track.of(revenue, "date", money | {"partial": bool})
        late = wh.query(
            "SELECT ingestion_date, duplicate_rate, late_pct FROM kpi_late_arrivals "
            "WHERE ingestion_date > $since AND ingestion_date < $end ORDER BY ingestion_date",
            since,
        )
        self.late = Track.of(late, "ingestion_date", {"duplicate_rate": float, "late_pct": float})
        success = wh.query(
            "SELECT date, vendor, success_rate FROM kpi_vendor_payment_success "
            "WHERE date > $since AND date < $end ORDER BY date, vendor",
            since,
        )
        self.success = {
            v: Track.of(rows, "date", {"success_rate": float})
            for v, rows in success.groupby("vendor", sort=True)
        }
        feed = wh.query(
            "SELECT ingestion_date, vendor, events, flagged IS NOT NULL AS flagged "
            "FROM vendor_feed_daily WHERE ingestion_date > $since AND ingestion_date < $end "
            "ORDER BY ingestion_date, vendor",
            since,
        )
        self.feed = {
            v: Track.of(rows, "ingestion_date", {"events": float, "flagged": bool})
            for v, rows in feed.groupby("vendor", sort=True)
        }

    @staticmethod
    def _present(tracks: dict[str, Track], day: date) -> dict[str, Track]:
        """Each vendor's cut with a row in the day's window (a vendor not seen then is left out)."""
        cuts = {v: t.cut(day) for v, t in tracks.items()}
        return {v: c for v, c in cuts.items() if len(c)}

    def _series(self, day: date) -> tuple[Track, Track, dict[str, Track], dict[str, Track]]:
        return (
            self.revenue.cut(day),
            self.late.cut(day),
            self._present(self.success, day),
            self._present(self.feed, day),
        )

    def digests(self, day: date) -> dict[str, str]:
        return inputs(day, *self._series(day))

    def draw(self, days: list[date]) -> dict[date, dict[str, bytes]]:
        """Each day's charts (SVG text: about a millisecond a chart, no process pool)."""
        return {day: day_charts(day, *self._series(day)) for day in days}


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name beside `path`, then rename: readers see the old file or the new one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _digest(report: dict[str, Any], chart_inputs: dict[str, str]) -> str:
    content = orjson.dumps([REPORT_VERSION, report, chart_inputs], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(content).hexdigest()


def _unchanged(folder: Path, digest: str) -> bool:
    try:
        previous = orjson.loads((folder / "quality.json").read_bytes()).get("content_sha256")
    except (FileNotFoundError, orjson.JSONDecodeError):
        return False
    return previous == digest and all(
        (folder / name).is_file() for name in (*CHART_NAMES, "report.html")
    )


def _write_folder(
    folder: Path, day: date, report: dict[str, Any], images: dict[str, bytes], digest: str
) -> None:
    report = mask_personal(report)  # the HTML, the JSON and the overview read from it
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".*.tmp"):  # left by a writer killed half-way
        stale.unlink(missing_ok=True)
    for old in LEGACY_CHARTS:  # an earlier version's PNG charts: the SVG ones replace them
        (folder / old).unlink(missing_ok=True)
    generated_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name, png in images.items():
        _write_atomic(folder / name, png)
    _write_atomic(
        folder / "report.html", render_html(day, report, images, generated_at).encode("utf-8")
    )
    payload = {"generated_at": generated_at, "content_sha256": digest, **report}
    _write_atomic(
        folder / "quality.json",
        orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS),
    )


PROCESSED_DAYS = """
SELECT DISTINCT d FROM (SELECT date AS d FROM fact_order_daily UNION SELECT ingestion_date FROM kpi_late_arrivals)
WHERE d >= $start AND d < $end ORDER BY d"""


def processed_days(warehouse: Warehouse, start: date, end: date) -> list[date]:
    """Days of [start, end) with business activity or a live ingestion: the days that get a report."""
    return [d.date() for d in warehouse.query(PROCESSED_DAYS, {"start": start, "end": end})["d"]]


def write_reports(
    db: Database,
    warehouse: Warehouse,
    days: list[date],
    reports_dir: Path,
    settings: Thresholds,
    unfinished: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The report folders of `days` (sorted), from one read of their window. A day whose figures
    and chart inputs equal its last report's is left as it is; the others are written with their
    SVG charts. `unfinished`: {day: lines} of the automation's
    work on that day still waiting after a failure (shown on its report). Returns the folders
    and the counts."""
    if not days:
        return {"folders": [], "written": 0, "unchanged": 0, "charts_drawn": 0}
    start, end = days[0], days[-1] + DAY
    with warehouse.session():
        kpis = WindowKpis(warehouse, start, end)
        outcomes = window_outcomes(db, warehouse, start, end, settings)
        edges = DataEdges(warehouse)
        charts = WindowCharts(warehouse, start, end, edges, settings)
        annotated = annotations.by_day(annotations.read(warehouse, start, end))
        moved = changes_for_days(warehouse, days)
        moved_lines = movers_a_week_apart(
            read_lines(warehouse, start - timedelta(days=7), end), days
        )
        final = {
            pd.Timestamp(d).date(): bool(f) if pd.notna(f) else True
            for d, f in warehouse.query(
                "SELECT date, is_final FROM kpi_daily_revenue WHERE date >= $start AND date < $end",
                {"start": start, "end": end},
            ).itertuples(index=False)
        }
    pending = {}
    for day in days:
        report = {
            "date": day.isoformat(),
            "checks": [o.as_dict() for o in outcomes[day]],
            "kpis": kpis.day(day),
            **({"annotations": notes} if (notes := annotated.get(day)) else {}),
            "net_revenue_change": headline(moved[day])
            + (late_lines(expected_late(warehouse, day)) if not final.get(day, True) else [])
            + mover_lines(moved_lines[day]),
            **({"partial_day": why} if (why := edges.partial(day)) else {}),
            **({"unfinished_work": lines} if (lines := (unfinished or {}).get(str(day))) else {}),
        }
        digest = _digest(report, charts.digests(day))
        if not _unchanged(Path(reports_dir) / day.isoformat(), digest):
            pending[day] = (report, digest)
    images = charts.draw(list(pending))
    for day, (report, digest) in pending.items():
        _write_folder(Path(reports_dir) / day.isoformat(), day, report, images[day], digest)
    return {
        "folders": [Path(reports_dir) / d.isoformat() for d in days],
        "written": len(pending),
        "unchanged": len(days) - len(pending),
        "charts_drawn": len({v for i in images.values() for v in i.values()}),
    }


def write_day_report(
    db: Database, wh: Warehouse, day: date, reports_dir: Path, settings: Thresholds
) -> Path:
    """Write (or keep, when unchanged) the report folder of `day`; returns it."""
    return write_reports(db, wh, [day], reports_dir, settings)["folders"][0]


def write_window_reports(
    db: Database,
    warehouse: Warehouse,
    start: date,
    end: date,
    reports_dir: Path,
    settings: Thresholds,
    unfinished: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The report folder of every processed day of [start, end)."""
    days = processed_days(warehouse, start, end)
    return write_reports(db, warehouse, days, reports_dir, settings, unfinished)
