"""The human report: one self-contained HTML page (tables, check verdicts, charts inlined)."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

import orjson

from commercepulse.reports.sections import SECTIONS
from commercepulse.warehouse.schema import ALL_TABLES


def _table(rows: list[dict[str, Any]], notes: dict[str, str] | None = None) -> str:
    """Rows as a table; `notes`: what each column means, as the header's tooltip and a legend."""
    if not rows:
        return "<p class='empty'>no rows</p>"
    notes = notes or {}
    head = "".join(
        f"<th title='{html.escape(notes.get(k, ''), quote=True)}'>{html.escape(str(k))}</th>"
        for k in rows[0]
    )
    legend = "".join(
        f"<li><b>{html.escape(k)}</b>: {html.escape(notes[k])}</li>"
        for k in rows[0]
        if notes.get(k)
    )
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row.values()) + "</tr>"
        for row in rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return table + (f"<ul class='notes'>{legend}</ul>" if legend else "")


def _column_notes(table: str) -> dict[str, str]:
    spec = ALL_TABLES.get(table)
    return {c.name: c.description for c in spec.columns if c.description} if spec else {}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return "" if value is None else str(value)


def render_html(
    day: date, report: dict[str, Any], images: dict[str, bytes], generated_at: str
) -> str:
    checks = [
        {
            "check": c["check"],
            "verdict": "FAIL"
            if not c["passed"]
            else "PASS"
            if c.get("judged", True)
            else "NOT JUDGED",
            "note": " What to do: ".join(
                part for part in (c.get("explanation"), c.get("action")) if part
            )
            or c.get("not_judged_because", "")
            or c.get("details", {}).get("acknowledged", ""),  # an accepted restatement
            "severity": c["severity"],
            "figure": c["figure"],
            "threshold": c["threshold"],
        }
        for c in report["checks"]
    ]
    findings = "".join(
        f"<h3>{html.escape(c['check'])}: {html.escape(c.get('rows_title', ''))}</h3>{_table(c['rows'])}"
        for c in report["checks"]
        if c.get("rows") and not c["passed"]  # a passing check shows its figure only
    )
    sections = "".join(
        f"<h2>{html.escape(SECTIONS.get(name, (name.replace('_', ' '), ''))[0])}</h2>"
        f"{_table(rows, _column_notes(SECTIONS.get(name, ('', ''))[1]))}"
        for name, rows in report["kpis"].items()
    )
    partial = (
        f"<p class='partial'>Partial day: {html.escape(report['partial_day'])}.</p>"
        if report.get("partial_day")
        else ""
    )
    revenue = report["kpis"].get("daily_revenue") or [{}]
    if revenue[0].get("is_final") is False:
        partial += (
            "<p class='partial'>Provisional: the vendors' measured lateness says more data may "
            "still come for this day, so its figures can still change (kpi_vendor_lateness says "
            "from when each vendor's days are final).</p>"
        )
    notes = "".join(
        f"<p class='note'>Annotated: {html.escape(line)}.</p>"
        for line in report.get("annotations", [])
    )
    moved = report.get("net_revenue_change") or []
    why = (
        f"<h2>Why net revenue moved</h2><p>{html.escape(moved[0])}</p><ul>"
        + "".join(f"<li>{html.escape(line.strip())}</li>" for line in moved[1:])
        + "</ul><p class='notes'>By vendor and cause, adding up to the change to the kobo; "
        "<code>commercepulse why kpi_daily_revenue DAY [--vs DAY | --weeks N]</code> for another "
        "comparison.</p>"
        if moved
        else ""
    )
    waiting = "".join(
        f"<p class='partial'>Not finished: {html.escape(line)}.</p>"
        for line in report.get("unfinished_work", [])
    )
    pictures = "".join(  # the SVG charts inline: sharp at any zoom, nothing to fetch
        f"<figure>{svg.decode()}<figcaption>{name}</figcaption></figure>"
        for name, svg in images.items()
    )
    failed = sum(1 for c in checks if c["verdict"] == "FAIL")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CommercePulse quality report {day}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:.5em 0 1.5em}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}th{{background:#f2f2f2}}
tr td:first-child{{text-align:left}}.FAIL{{color:#b00;font-weight:bold}}.PASS{{color:#070}}
figure{{display:inline-block;margin:0 1em 1em 0}}img{{max-width:100%}}
.notes{{font-size:.85em;color:#555;margin-top:-1em}}.partial{{background:#fff4d6;padding:.4em .8em}}
.note{{background:#e8f0ff;padding:.4em .8em}}</style></head>
<body><h1>CommercePulse data quality — {day}</h1>
<p>{len(checks)} checks, {failed} failing. <small>generated at {generated_at}</small></p>{notes}{partial}{waiting}
<h2>Checks</h2>{_table(checks).replace("<td>FAIL</td>", "<td class='FAIL'>FAIL</td>").replace("<td>PASS</td>", "<td class='PASS'>PASS</td>")}
{findings}{pictures}{why}{sections}</body></html>
"""
