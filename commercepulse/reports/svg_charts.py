"""The report charts as SVG written directly (SPEC §10 allows PNG or SVG): each over the
CHART_DAYS days to the report day: revenue (partial days marked, net revenue's usual band
shaded), live ingestion quality, payment success per vendor, and each vendor's feed (events per
ingestion day) with its flagged anomaly days marked.

A chart is a few hundred bytes of text built from its numbers: no plotting library, no process
pool, sharp at any zoom, inlined in the report's HTML. The x-axis counts days back from the report
day (dates under its ticks); the y-scale is rounded up to a "nice" limit. Same inputs, same bytes.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from commercepulse.reports.chart_inputs import CHART_DAYS, Track

DAYS_BACK_TICKS = (-CHART_DAYS, -30, 0)
#: matplotlib's default cycle, so the charts look as they always did
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip
WIDTH, HEIGHT = 640, 230
LEFT, RIGHT, TOP, BOTTOM = 58, 486, 28, 196  # the plot area; the legend is right of it


def nice_limit(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above |value| (0 stays 0)."""
    value = abs(float(value))
    if not math.isfinite(value) or value == 0:
        return 0.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def y_scale(*series: np.ndarray) -> tuple[float, float]:
    values = (
        np.concatenate([np.asarray(s, dtype=float) for s in series]) if series else np.array([])
    )
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return 0.0, 1.0
    low, high = -nice_limit(min(values.min(), 0)), nice_limit(max(values.max(), 0))
    return low, high if high > low else low + 1.0


def compact(value: float) -> str:
    """Axis labels that fit: 1.5M, 250k, 12."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


@dataclass(frozen=True)
class Series:
    """One thing drawn: a line (gaps where NaN), hollow points, or crosses."""

    label: str
    x: np.ndarray  # days back from the report day (0 = the day)
    y: np.ndarray
    color: str
    style: str = "line"  # line | dots (a line with points) | hollow | cross
    in_legend: bool = True


def _px(x: np.ndarray, y: np.ndarray, ylim: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    low, high = ylim
    px = LEFT + (np.asarray(x, dtype=float) + CHART_DAYS + 0.5) / (CHART_DAYS + 1) * (RIGHT - LEFT)
    py = BOTTOM - (np.asarray(y, dtype=float) - low) / (high - low) * (BOTTOM - TOP)
    return px, np.clip(py, TOP - 2, BOTTOM + 2)


def _path(px: np.ndarray, py: np.ndarray) -> str:
    """An SVG path through the points, broken where a value is missing."""
    parts, pen = [], "M"
    for a, b in zip(px, py):
        if not (math.isfinite(a) and math.isfinite(b)):
            pen = "M"
            continue
        parts.append(f"{pen}{a:.1f} {b:.1f}")
        pen = "L"
    return " ".join(parts)


def _marks(series: Series, px: np.ndarray, py: np.ndarray) -> list[str]:
    keep = np.isfinite(px) & np.isfinite(py)
    out = []
    if series.style in ("line", "dots"):
        d = _path(px, py)
        if d:
            out.append(f'<path d="{d}" fill="none" stroke="{series.color}" stroke-width="1.5"/>')
    if series.style in ("dots", "hollow"):
        fill = series.color if series.style == "dots" else "none"
        out += [
            f'<circle cx="{a:.1f}" cy="{b:.1f}" r="{2.2 if fill != "none" else 3.5}" '
            f'fill="{fill}" stroke="{series.color}"/>'
            for a, b in zip(px[keep], py[keep])
        ]
    if series.style == "cross":
        out += [
            f'<path d="M{a - 4:.1f} {b - 4:.1f}L{a + 4:.1f} {b + 4:.1f}M{a - 4:.1f} {b + 4:.1f}'
            f'L{a + 4:.1f} {b - 4:.1f}" stroke="{series.color}" stroke-width="2"/>'
            for a, b in zip(px[keep], py[keep])
        ]
    return out


def _legend_mark(series: Series, x: float, y: float) -> str:
    if series.style == "hollow":
        return f'<circle cx="{x + 9}" cy="{y}" r="3.5" fill="none" stroke="{series.color}"/>'
    if series.style == "cross":
        return (
            f'<path d="M{x + 5} {y - 4}L{x + 13} {y + 4}M{x + 5} {y + 4}L{x + 13} {y - 4}" '
            f'stroke="{series.color}" stroke-width="2"/>'
        )
    if series.style == "band":
        return f'<rect x="{x}" y="{y - 5}" width="18" height="10" fill="{series.color}" opacity="0.2"/>'
    return f'<path d="M{x} {y}L{x + 18} {y}" stroke="{series.color}" stroke-width="1.5"/>'


def chart(
    title: str,
    series: Sequence[Series],
    day: date | None,
    ylim: tuple[float, float],
    ylabel: str,
    band: tuple[np.ndarray, np.ndarray, np.ndarray, str] | None = None,
    ticks: Sequence[float] | None = None,
) -> bytes:
    """One chart as SVG bytes. `band`: (x, low, high, label) shaded behind the lines; `ticks`:
    the y values labelled (default: five, evenly spaced)."""
    low, high = ylim
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<text x="{(LEFT + RIGHT) / 2:.0f}" y="16" text-anchor="middle" font-size="13">'
        f"{html.escape(title)}</text>",
        f'<rect x="{LEFT}" y="{TOP}" width="{RIGHT - LEFT}" height="{BOTTOM - TOP}" '
        'fill="none" stroke="#444"/>',
    ]
    for value in ticks if ticks is not None else [low + (high - low) * k / 4 for k in range(5)]:
        _, (py,) = _px(np.array([0.0]), np.array([value]), ylim)  # y ticks and grid
        out.append(
            f'<path d="M{LEFT - 4} {py:.1f}L{RIGHT} {py:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end">{compact(value)}</text>'
        )
    out.append(
        f'<text transform="translate(14 {(TOP + BOTTOM) / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{html.escape(ylabel)}</text>'
    )
    if day is not None:  # the dates under the day ticks
        for back in DAYS_BACK_TICKS:
            (px,), _ = _px(np.array([float(back)]), np.array([low]), ylim)
            label = (day + timedelta(days=back)).isoformat()
            out.append(
                f'<path d="M{px:.1f} {BOTTOM}L{px:.1f} {BOTTOM + 4}" stroke="#444"/>'
                f'<text x="{px:.1f}" y="{BOTTOM + 16}" text-anchor="middle">{label}</text>'
            )
    legend = []
    if band is not None:
        x, lo, hi, label = band
        keep = np.isfinite(lo) & np.isfinite(hi)
        if keep.any():
            px, plo = _px(x[keep], lo[keep], ylim)
            _, phi = _px(x[keep], hi[keep], ylim)
            points = " ".join(
                f"{a:.1f},{b:.1f}"
                for a, b in zip(np.concatenate([px, px[::-1]]), np.concatenate([plo, phi[::-1]]))
            )
            out.append(f'<polygon points="{points}" fill="{COLORS[1]}" opacity="0.15"/>')
        legend.append(Series(label, x, lo, COLORS[1], "band"))
    for s in series:
        px, py = _px(s.x, s.y, ylim)
        out += _marks(s, px, py)
        if s.in_legend:
            legend.append(s)
    for k, s in enumerate(legend):
        y = TOP + 8 + 16 * k
        out.append(
            _legend_mark(s, RIGHT + 10, y)
            + f'<text x="{RIGHT + 34}" y="{y + 4}">{html.escape(s.label)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out).encode()


def day_charts(
    day: date,
    revenue: Track,
    late: Track,
    success: dict[str, Track],
    feed: dict[str, Track],
) -> dict[str, bytes]:
    """The day's four charts, each over the CHART_DAYS days to `day` (`chart_inputs.Track` cuts)."""
    x, r = revenue.back(day), revenue.values
    gross, net, partial = r["gross_revenue_ngn"], r["net_revenue_ngn"], r["partial"]
    charts = {
        "revenue.svg": chart(
            f"Revenue (NGN) by payment / refund day, last {CHART_DAYS} days",
            [
                Series("gross", x, gross, COLORS[0]),
                Series("net", x, net, COLORS[1]),
                Series("partial day", x[partial], net[partial], "#7f7f7f", "hollow"),
            ],
            day,
            y_scale(gross, net),
            "NGN",
            (x, r["band_low"], r["band_high"], "usual net band"),
        )
    }
    duplicates, lates = late.values["duplicate_rate"] * 100, late.values["late_pct"] * 100
    charts["quality_rates.svg"] = chart(
        "Live ingestion quality by ingestion day"
        + (f", last {CHART_DAYS} days" if len(late) else ""),
        [
            Series("duplicate %", late.back(day), duplicates, COLORS[0], "dots"),
            Series("late %", late.back(day), lates, COLORS[1], "dots"),
        ],
        day if len(late) else None,
        y_scale(duplicates, lates),
        "% of the day",
    )
    charts["payment_success.svg"] = chart(
        "Payment success % by vendor, per payment day"
        + (f", last {CHART_DAYS} days" if success else ""),
        [
            Series(v, t.back(day), t.values["success_rate"] * 100, COLORS[i % len(COLORS)], "dots")
            for i, (v, t) in enumerate(success.items())
        ],
        day if success else None,
        (0.0, 105.0),
        "% successful",
        ticks=(0, 25, 50, 75, 100),
    )
    lines, crosses = [], []
    for i, (v, t) in enumerate(feed.items()):
        fx, fy, flagged = t.back(day), t.values["events"], t.values["flagged"]
        lines.append(Series(v, fx, fy, COLORS[i % len(COLORS)]))
        crosses.append(Series("flagged", fx[flagged], fy[flagged], "#d62728", "cross", False))
    if feed:
        crosses.append(Series("flagged", np.array([]), np.array([]), "#d62728", "cross"))
    events = [t.values["events"] for t in feed.values()]
    charts["vendor_feed.svg"] = chart(
        "Vendor feed: events per ingestion day" + (f", last {CHART_DAYS} days" if feed else ""),
        [*lines, *crosses],
        day if feed else None,
        y_scale(*events),
        "events",
    )
    return charts
