"""The report charts (PNG), each over the CHART_DAYS days to the report day: revenue (partial days
marked), live ingestion quality, payment success per vendor, and each vendor's feed (events per
ingestion day) with its flagged anomaly days marked.

Drawing dominates a report's cost (hundreds of days in a backfill), so each chart is drawn the
way matplotlib animates (blitting): the axes, ticks and legend are rendered once per y-scale
into a background, and a day only restores that background and draws its own lines, bars and
title. The x-axis counts days back from the report day, so it never changes (the dates under
its ticks are drawn per image; titles name no day and are part of the background); the y-scale is
rounded up to a "nice" limit, so consecutive days share a background. A chart whose inputs
equal an already-drawn one is not drawn again. Same inputs give the same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from datetime import date, timedelta

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
from PIL import Image  # noqa: E402

from commercepulse.reports.chart_inputs import CHART_DAYS, inputs  # noqa: E402

#: Below this many days per worker, starting a process costs more than it saves.
POOL_MIN_DAYS_PER_WORKER = 60
DAYS_BACK_TICKS = [-CHART_DAYS, -30, 0]
TICK_FORMAT = "%Y-%m-%d"
#: Legends beside the plot (right of it), never under the lines.
LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": "small", "frameon": False}


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


class BlitChart:
    """One figure: a static background per y-scale, dynamic artists drawn on it per image."""

    def __init__(self, size: tuple[float, float], setup: Callable, dated: bool = True) -> None:
        # a Figure of its own (not pyplot's): nothing registered globally, freed with the chart
        self.fig = Figure(figsize=size, dpi=72)
        FigureCanvasAgg(self.fig)
        self.fig.subplots_adjust(
            left=0.11, right=0.80, top=0.88, bottom=0.15
        )  # fixed: no layout solver
        self.ax = self.fig.add_subplot()
        self.dynamic = setup(self.ax)
        self.title = self.ax.set_title(" ")
        # the dates under the day ticks change with the report day: drawn per image
        self.dates = (
            [
                self.ax.text(x, -0.03, "", transform=self.ax.get_xaxis_transform(),
                             ha="center", va="top", fontsize="small")
                for x in DAYS_BACK_TICKS
            ]
            if dated
            else []
        )  # fmt: skip
        for artist in (*self.dynamic, *self.dates):
            artist.set_animated(True)  # left out of the background (the title is in it)
        self._backgrounds: dict[tuple, object] = {}

    def render(
        self,
        key: tuple,
        configure: Callable,
        title: str,
        update: Callable[[], list],
        day: date | None = None,
    ) -> bytes:
        """Restore (or draw once) the background of `key` after `configure(ax)` set the axes to
        it, then draw the dynamic artists `update()` returns, and the tick dates
        counted back from `day` (none without a day); the PNG bytes."""
        canvas = self.fig.canvas
        configure(self.ax)
        key = (key, title)  # titles name no day: one background serves every day of a scale
        if key not in self._backgrounds:
            self.title.set_text(title)
            canvas.draw()
            self._backgrounds[key] = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._backgrounds[key])
        for label, back in zip(self.dates, DAYS_BACK_TICKS):
            label.set_text((day + timedelta(days=back)).strftime(TICK_FORMAT) if day else "")
        for artist in (*update(), *self.dates):
            self.ax.draw_artist(artist)
        width, height = canvas.get_width_height()
        image = Image.frombuffer(
            "RGBA", (width, height), bytes(canvas.buffer_rgba()), "raw", "RGBA", 0, 1
        )
        buffer = io.BytesIO()
        image.save(
            buffer, format="PNG", compress_level=1
        )  # encoding at the default level costs more than drawing
        return buffer.getvalue()


def _compact(value: float, _position=None) -> str:
    """Axis labels that fit: 1.5M, 250k, 12."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def _days_back_axis(ax, ylabel: str) -> None:
    """Days back from the report day on x (its dates are written per image), `ylabel` on y."""
    ax.set_xlim(-CHART_DAYS - 0.5, 0.5)
    ax.set_xticks(DAYS_BACK_TICKS, [""] * len(DAYS_BACK_TICKS))
    ax.yaxis.set_major_formatter(FuncFormatter(_compact))
    ax.set_ylabel(ylabel)


def _two_lines(first: str, second: str, marker: str | None, ylabel: str):
    def setup(ax):
        lines = [
            ax.plot([], [], marker=marker, label=first)[0],
            ax.plot([], [], marker=marker, label=second)[0],
        ]
        ax.legend(handles=lines, **LEGEND)
        _days_back_axis(ax, ylabel)
        return lines

    return setup


def _revenue_setup(ax):
    lines = [
        ax.plot([], [], label="gross")[0],
        ax.plot([], [], label="net")[0],
        ax.plot([], [], "o", mfc="none", color="grey", label="partial day")[0],
        # net revenue's usual band for the weekday and time of month (kpi_anomalies)
        ax.fill([0], [0], color="tab:orange", alpha=0.15, lw=0, label="usual net band")[0],
    ]
    ax.legend(handles=lines, **LEGEND)
    _days_back_axis(ax, "NGN")
    return lines


def _vendor_lines_setup(ylabel: str):
    def setup(ax):
        _days_back_axis(ax, ylabel)
        return []

    return setup


def _days_back(column: pd.Series, day: date) -> np.ndarray:
    return ((column - pd.Timestamp(day)).dt.days).to_numpy(dtype=float)


class ChartRenderer:
    """The four charts of a day, with a cache of rendered PNGs keyed by their inputs' digest."""

    def __init__(self) -> None:
        self._cache: dict[str, bytes] = {}
        self._revenue = BlitChart((8, 3), _revenue_setup)
        self._quality = BlitChart((8, 3), _two_lines("duplicate %", "late %", "o", "% of the day"))
        self._success = BlitChart((8, 3), _vendor_lines_setup("% successful"))
        self._feed = BlitChart((8, 3), _vendor_lines_setup("events"))

    def _cached(self, digest: str, draw: Callable[[], bytes]) -> bytes:
        if digest not in self._cache:
            self._cache[digest] = draw()
        return self._cache[digest]

    def _lines(
        self,
        chart: BlitChart,
        x: np.ndarray,
        ys: tuple[np.ndarray, ...],
        title: str,
        day: date | None,
        marks: np.ndarray | None = None,
        band: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> bytes:
        """Lines of `ys` over x; `marks`: points of the last line drawn hollow (partial days);
        `band`: (low, high) shaded behind them where known."""
        ylim = y_scale(*ys)

        def update():
            for line, y in zip(chart.dynamic, ys):
                line.set_data(x, y)
            if marks is not None:
                chart.dynamic[len(ys)].set_data(x[marks], ys[-1][marks])
            if band is not None:
                known = ~(np.isnan(band[0]) | np.isnan(band[1]))
                xs, low, high = x[known], band[0][known], band[1][known]
                outline = np.column_stack(
                    [np.concatenate([xs, xs[::-1]]), np.concatenate([low, high[::-1]])]
                )
                chart.dynamic[len(ys) + 1].set_xy(outline if len(xs) else np.zeros((1, 2)))
                return [chart.dynamic[len(ys) + 1], *chart.dynamic[: len(ys) + 1]]
            return chart.dynamic

        return chart.render(ylim, lambda ax: ax.set_ylim(*ylim), title, update, day)

    def _success_lines(self, success: pd.DataFrame, day: date) -> bytes:
        """Each vendor's payment success % per payment day over the CHART_DAYS days to `day`."""
        vendors = tuple(sorted(success["vendor"].unique()))

        def configure(ax):  # the vendors (legend) are part of the background
            ax.set_ylim(0, 105)
            handles = [Line2D([], [], color=f"C{i}", label=v) for i, v in enumerate(vendors)]
            if handles:
                ax.legend(handles=handles, **LEGEND)

        artists: list = []

        def update():
            for i, vendor in enumerate(vendors):
                rows = success[success["vendor"] == vendor]
                x = _days_back(rows["date"], day)
                y = (rows["success_rate"] * 100).to_numpy(dtype=float)
                artists.append(self._success.ax.plot(x, y, ".-", color=f"C{i}", animated=True)[0])
            return artists

        title = "Payment success % by vendor, per payment day" + (
            f", last {CHART_DAYS} days" if vendors else ""
        )
        try:
            return self._success.render(vendors, configure, title, update, day if vendors else None)
        finally:
            for artist in artists:
                artist.remove()

    def _vendor_feed(self, feed: pd.DataFrame, day: date) -> bytes:
        vendors = tuple(sorted(feed["vendor"].unique()))
        ylim = y_scale(feed["events"].to_numpy(dtype=float))

        def configure(ax):  # the vendors (legend) and the y-scale are part of the background
            ax.set_ylim(*ylim)
            handles = [Line2D([], [], color=f"C{i}", label=v) for i, v in enumerate(vendors)]
            handles.append(Line2D([], [], color="red", marker="x", linestyle="", label="flagged"))
            ax.legend(handles=handles, **LEGEND)
            ax.get_legend().set_visible(bool(vendors))

        artists: list = []

        def update():
            ax = self._feed.ax
            for i, vendor in enumerate(vendors):
                rows = feed[feed["vendor"] == vendor]
                x, y = _days_back(rows["ingestion_date"], day), rows["events"].to_numpy(dtype=float)
                artists.append(ax.plot(x, y, color=f"C{i}", animated=True)[0])
                flagged = rows["flagged"].notna().to_numpy()
                if flagged.any():
                    artists.append(
                        ax.plot(
                            x[flagged],
                            y[flagged],
                            "x",
                            color="red",
                            markersize=9,
                            mew=2,
                            animated=True,
                        )[0]
                    )
            return artists

        title = "Vendor feed: events per ingestion day" + (
            f", last {CHART_DAYS} days" if vendors else ""
        )
        try:
            return self._feed.render(
                (ylim, vendors), configure, title, update, day if vendors else None
            )
        finally:
            for artist in artists:
                artist.remove()

    def day(
        self,
        day: date,
        revenue: pd.DataFrame,
        late: pd.DataFrame,
        success: pd.DataFrame,
        feed: pd.DataFrame,
    ) -> dict[str, bytes]:
        """The day's charts, each over the CHART_DAYS days to `day`: revenue (partial days marked),
        ingestion quality, payment success per vendor, vendor feeds."""
        digests = inputs(day, revenue, late, success, feed)
        return {
            "revenue.png": self._cached(
                digests["revenue.png"],
                lambda: self._lines(
                    self._revenue,
                    _days_back(revenue["date"], day),
                    (
                        revenue["gross_revenue_ngn"].to_numpy(dtype=float),
                        revenue["net_revenue_ngn"].to_numpy(dtype=float),
                    ),
                    f"Revenue (NGN) by payment / refund day, last {CHART_DAYS} days",
                    day,
                    revenue["partial"].to_numpy(dtype=bool),
                    (
                        revenue["band_low"].to_numpy(dtype=float),
                        revenue["band_high"].to_numpy(dtype=float),
                    ),
                ),
            ),
            "quality_rates.png": self._cached(
                digests["quality_rates.png"],
                lambda: self._lines(
                    self._quality,
                    _days_back(late["ingestion_date"], day),
                    (
                        (late["duplicate_rate"] * 100).to_numpy(dtype=float),
                        (late["late_pct"] * 100).to_numpy(dtype=float),
                    ),
                    "Live ingestion quality by ingestion day"
                    + (f", last {CHART_DAYS} days" if len(late) else ""),
                    day if len(late) else None,
                ),
            ),
            "payment_success.png": self._cached(
                digests["payment_success.png"], lambda: self._success_lines(success, day)
            ),
            "vendor_feed.png": self._cached(
                digests["vendor_feed.png"], lambda: self._vendor_feed(feed, day)
            ),
        }


def render_days(series: list[tuple]) -> list[dict[str, bytes]]:
    """Charts of several days in one process (a worker of `render_many`)."""
    renderer = ChartRenderer()
    return [renderer.day(*item) for item in series]


def render_many(series: list[tuple], workers: int) -> list[dict[str, bytes]]:
    """Charts of many days, drawn by `workers` processes when there are enough of them to pay
    for starting the processes."""
    if workers <= 1 or len(series) < 2 * POOL_MIN_DAYS_PER_WORKER:
        return render_days(series)
    from commercepulse.lib.processes import worker_pool

    workers = min(workers, len(series) // POOL_MIN_DAYS_PER_WORKER)
    size = -(-len(series) // workers)
    chunks = [series[i : i + size] for i in range(0, len(series), size)]
    with worker_pool(len(chunks)) as pool:
        return [images for part in pool.map(render_days, chunks) for images in part]
