"""The quality overview (`REPORTS_DIR/index.html`): every catalogued check × the last 60 report
days as a grid of pass / warn / fail / not judged, a sparkline of each check's figure, and each
vendor's feed with its flagged days. Read from the days' quality.json (what the reports said,
nothing recomputed); one self-contained page, no script, no network; `overview.svg` is the grid
as a picture for where HTML is not shown.
"""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from commercepulse.checks.catalogue import JUDGED as CHECKS
from commercepulse.checks.catalogue import report_name

OVERVIEW_DAYS = 60
DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: cell state -> (colour, what it means)
STATES = {
    "pass": ("#2e7d32", "passed"),
    "warn": ("#f9a825", "failed, WARN"),
    "fail": ("#c62828", "failed, ERROR"),
    "none": ("#bdbdbd", "not judged (nothing to judge that day) or not in that day's report"),
}
_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table.grid{border-collapse:collapse;font-size:12px}
.grid td,.grid th{border:1px solid #fff;padding:0}
.grid th.day{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;padding:2px}
.grid th.gap{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;color:#888;background:#f4f4f4}
.grid td.gap{background:#f4f4f4}
.grid td.name{padding:2px 8px;white-space:nowrap;text-align:left}
.grid a.cell{display:block;width:14px;height:18px}
.pass{background:#2e7d32}.warn{background:#f9a825}.fail{background:#c62828}.none{background:#bdbdbd}
ul.legend li{list-style:none;margin:2px 0}
ul.legend span{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:middle}
table.feed{border-collapse:collapse;font-size:13px}
.feed td,.feed th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}
"""


def _state(entry: dict[str, Any] | None) -> str:
    if entry is None or entry.get("judged") is False:
        return "none"
    if entry.get("passed"):
        return "pass"
    return "fail" if entry.get("severity") == "ERROR" else "warn"


def _sparkline(values: list[float | None], width: int = 120, height: int = 18) -> str:
    """An inline SVG polyline of the numbers (gaps skipped); empty when fewer than two."""
    points = [(i, v) for i, v in enumerate(values) if isinstance(v, (int, float))]
    if len(points) < 2:
        return ""
    low, high = min(v for _, v in points), max(v for _, v in points)
    span, step = (high - low) or 1.0, width / max(len(values) - 1, 1)
    path = " ".join(
        f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}" for i, v in points
    )
    return (
        f"<svg width='{width}' height='{height}' role='img' aria-label='figure from {low:g} to "
        f"{high:g}'><polyline fill='none' stroke='#1565c0' stroke-width='1.2' points='{path}'/></svg>"
    )


def _days(reports_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    folders = sorted(
        p
        for p in reports_dir.iterdir()
        if DAY_FOLDER.match(p.name) and (p / "quality.json").is_file()
    )[-OVERVIEW_DAYS:]
    return [(p.name, orjson.loads((p / "quality.json").read_bytes())) for p in folders]


def _check_url(ui_base_url: str, asset: str) -> str:
    return f"{ui_base_url.rstrip('/')}/assets/{asset}?view=checks"


def _freshness(verdicts: dict[str, tuple[bool, str]]) -> str:
    if not verdicts:
        return ""
    items = "".join(
        f"<li><span class='{'pass' if passed else 'fail'}'></span><b>{html.escape(name)}</b>: "
        f"{html.escape(line)}</li>"
        for name, (passed, line) in sorted(verdicts.items())
    )
    return f"<h2>Freshness now</h2><ul class='legend'>{items}</ul>"


def _not_begun(lines: list[str]) -> str:
    if not lines:
        return ""
    items = "".join(f"<li><span class='none'></span>{html.escape(line)}</li>" for line in lines)
    return (
        "<h2>Files waiting for their UTC day</h2><p>Day folders are UTC days: each file lands "
        f"when its day begins.</p><ul class='legend'>{items}</ul>"
    )


def _unfinished(lines: list[str]) -> str:
    if not lines:
        return ""
    items = "".join(f"<li><span class='fail'></span>{html.escape(line)}</li>" for line in lines)
    return f"<h2>Not finished after a failure</h2><ul class='legend'>{items}</ul>"


def _provisional(days: list[tuple[str, dict[str, Any]]]) -> str:
    """The report days whose revenue is still provisional (more data may come: is_final)."""
    open_days = [
        d
        for d, report in days
        if (report.get("kpis", {}).get("daily_revenue") or [{}])[0].get("is_final") is False
    ]
    if not open_days:
        return ""
    return (
        f"<h2>Provisional days</h2><p>{len(open_days)} day(s) may still change: the vendors' "
        "measured lateness says more data may come (kpi_vendor_lateness): "
        f"{html.escape(', '.join(open_days))}.</p>"
    )


def _cell_title(name: str, day: str, entry: dict[str, Any] | None) -> str:
    """What a cell says on hover: the verdict, and for a failing check its own explanation."""
    said = f"{name} on {day}: {STATES[_state(entry)][1]}"
    if entry and entry.get("explanation"):
        said += f" — {entry['explanation']}"
        if entry.get("action"):
            said += f". What to do: {entry['action']}"
    return said


def _gaps(names: list[str]) -> dict[str, int]:
    """{report day: days without a report just before it} where the report days jump."""
    out = {}
    for before, day in zip(names, names[1:]):
        missing = (date.fromisoformat(day) - date.fromisoformat(before)).days - 1
        if missing > 0:
            out[day] = missing
    return out


def _gap_head(missing: int) -> str:
    return f"<th class='gap' title='{missing} day(s) without a report'>⋯ {missing} d ⋯</th>"


def overview_html(
    days: list[tuple[str, dict[str, Any]]],
    ui_base_url: str,
    freshness: dict[str, tuple[bool, str]] | None = None,
    unfinished: list[str] | None = None,
    waiting: list[str] | None = None,
) -> str:
    names = [d for d, _ in days]
    gaps = _gaps(names)
    head = "".join(
        f"{_gap_head(gaps[d])}<th class='day'>{d}</th>"
        if d in gaps
        else f"<th class='day'>{d}</th>"
        for d in names
    )
    rows = []
    for spec in CHECKS:
        name = report_name(spec)
        entries = [{c["check"]: c for c in report["checks"]}.get(name) for _, report in days]
        cells = "".join(
            ("<td class='gap'></td>" if d in gaps else "")
            + f"<td><a class='cell {_state(e)}' href='{d}/report.html' "
            f"title='{html.escape(_cell_title(name, d, e), quote=True)}'>"
            f"<span hidden>{_state(e)}</span></a></td>"
            for d, e in zip(names, entries)
        )
        figures = [e.get("figure") if e else None for e in entries]
        link = html.escape(_check_url(ui_base_url, spec.asset), quote=True)
        rows.append(
            f"<tr><td class='name'><a href='{link}'>{html.escape(spec.key)}</a></td>{cells}"
            f"<td class='name'>{_sparkline(figures)}</td></tr>"
        )
    legend = "".join(
        f"<li><span class='{state}'></span>{html.escape(meaning)}</li>"
        for state, (_, meaning) in STATES.items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>CommercePulse quality "
        f"overview</title><style>{_CSS}</style></head><body>"
        f"<h1>Quality overview</h1><p>{len(CHECKS)} checks × the last {len(names)} report days "
        f"({names[0] if names else '-'} … {names[-1] if names else '-'}). A cell opens that day's "
        "report; a check's name opens its page in the Dagster UI; the line is its figure over "
        "these days. The grid as a picture: <a href='overview.svg'>overview.svg</a>.</p>"
        f"{_freshness(freshness or {})}{_unfinished(unfinished or [])}{_not_begun(waiting or [])}"
        f"{_provisional(days)}"
        f"<h2>Checks by day</h2><ul class='legend'>{legend}</ul>"
        f"<table class='grid'><thead><tr><th></th>{head}<th>figure</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<h2>Vendor feeds</h2>{_feeds(days)}</body></html>"
    )


def _feeds(days: list[tuple[str, dict[str, Any]]]) -> str:
    """Per vendor: events per ingestion day (sparkline over the days it appears in the reports)
    and the flagged days with their lines."""
    series: dict[str, dict[str, dict[str, Any]]] = {}
    for day, report in days:
        for row in report.get("kpis", {}).get("vendor_feed", []):
            series.setdefault(row["vendor"], {})[day] = row
    if not series:
        return "<p>no live ingestion day in these reports</p>"
    rows = []
    for vendor, by_day in sorted(series.items()):
        events = [by_day[d].get("events") for d in sorted(by_day)]  # its own ingestion days
        flagged = "".join(
            f"<li><a href='{d}/report.html'>{d}</a>: {html.escape(str(r.get('anomalies') or r['flagged']))}</li>"
            for d, r in sorted(by_day.items())
            if r.get("flagged")
        )
        rows.append(
            f"<tr><td>{html.escape(vendor)}</td><td>{len(by_day)}</td><td>{_sparkline(events)}</td>"
            f"<td><ul>{flagged}</ul></td></tr>"
            if flagged
            else f"<tr><td>{html.escape(vendor)}</td><td>{len(by_day)}</td>"
            f"<td>{_sparkline(events)}</td><td>none</td></tr>"
        )
    return (
        "<table class='feed'><thead><tr><th>vendor</th><th>ingestion days</th><th>events per "
        f"day</th><th>flagged days</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _svg(days: list[tuple[str, dict[str, Any]]]) -> str:
    """The grid as an SVG picture: a row per check, a column per day, coloured by state."""
    cell, label_width, top = 12, 330, 24
    width, height = label_width + cell * len(days) + 10, top + cell * len(CHECKS) + 70
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="9">',
        f'<text x="{label_width}" y="14" font-size="11">pass (green) / warn (yellow) / fail (red) '
        "/ not judged (grey)</text>",
    ]
    for row, spec in enumerate(CHECKS):
        y = top + cell * row
        out.append(
            f'<text x="{label_width - 4}" y="{y + 9}" text-anchor="end">{html.escape(spec.key)}</text>'
        )
        for column, (_, report) in enumerate(days):
            state = _state({c["check"]: c for c in report["checks"]}.get(report_name(spec)))
            out.append(
                f'<rect x="{label_width + cell * column}" y="{y}" width="{cell - 1}" '
                f'height="{cell - 1}" fill="{STATES[state][0]}"/>'
            )
    step = max(1, len(days) // 10)
    bottom = top + cell * len(CHECKS) + 8
    for column in range(0, len(days), step):
        x = label_width + cell * column + cell / 2
        out.append(
            f'<text transform="translate({x:.0f} {bottom}) rotate(45)">{days[column][0]}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def write_overview(
    reports_dir: Path,
    ui_base_url: str,
    freshness: dict[str, tuple[bool, str]] | None = None,
    unfinished: list[str] | None = None,
    waiting: list[str] | None = None,
) -> Path | None:
    """Rewrite REPORTS_DIR/index.html and overview.svg from the last OVERVIEW_DAYS reports;
    `freshness`: {check: (passed, line)} judged now (the freshness checks); `unfinished`: the
    automation's work still waiting after a failure, a line each; `waiting`: files whose UTC day
    has not begun, a line each."""
    if not reports_dir.is_dir():
        return None
    days = _days(reports_dir)
    index = reports_dir / "index.html"
    index.write_text(
        overview_html(days, ui_base_url, freshness, unfinished, waiting), encoding="utf-8"
    )
    if days:
        (reports_dir / "overview.svg").write_text(_svg(days), encoding="utf-8")
    (reports_dir / "overview.png").unlink(missing_ok=True)  # an earlier version's picture
    return index
