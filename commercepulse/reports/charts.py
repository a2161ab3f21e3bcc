"""The report charts (PNG): revenue trend, live ingestion quality, payment success by vendor.

Rendering dominates a report's cost, so each chart keeps one figure whose artists are updated
in place (no clearing, few ticks), and a chart whose inputs equal an already-rendered one is
not drawn again (most historical days share an empty ingestion-quality chart, and a re-run
draws nothing new). Same inputs give the same bytes.
"""
from __future__ import annotations

import hashlib
import io
from datetime import date

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

CHART_DAYS = 60
PNG_METADATA = {"Software": None}  # no version stamp: same data => same bytes
CHART_NAMES = ("revenue.png", "quality_rates.png", "payment_success.png")
#: Below this many days per worker, starting a process costs more than it saves.
POOL_MIN_DAYS_PER_WORKER = 40


def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


class ChartRenderer:
    """Three reusable figures and a cache of rendered PNGs keyed by their inputs' digest."""

    def __init__(self) -> None:
        self._cache: dict[str, bytes] = {}
        self.rendered = 0
        self.reused = 0
        self._revenue = self._figure((7, 3))
        self._gross, = self._revenue[1].plot([], [], label="gross")
        self._net, = self._revenue[1].plot([], [], label="net")
        self._revenue[1].legend(loc="upper left")
        _date_axis(self._revenue[1])
        self._quality = self._figure((7, 3))
        self._dup, = self._quality[1].plot([], [], marker="o", label="duplicate %")
        self._late, = self._quality[1].plot([], [], marker="o", label="late %")
        self._quality[1].legend(loc="upper left")
        self._quality[1].set_title("Live ingestion quality by ingestion day")
        _date_axis(self._quality[1])
        self._success = self._figure((5, 3))
        self._vendors: list[str] | None = None
        self._bars = []

    @staticmethod
    def _figure(size: tuple[float, float]):
        fig = plt.figure(figsize=size)
        fig.subplots_adjust(left=0.12, right=0.97, top=0.88, bottom=0.15)  # fixed: layout solvers cost 2x
        return fig, fig.add_subplot()

    def _cached(self, digest: str, draw) -> bytes:
        if digest in self._cache:
            self.reused += 1
            return self._cache[digest]
        fig = draw()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=72, metadata=PNG_METADATA)
        self._cache[digest] = buffer.getvalue()
        self.rendered += 1
        return self._cache[digest]

    @staticmethod
    def _series(ax, lines, x, ys) -> None:
        for line, y in zip(lines, ys):
            line.set_data(x, y)
        ax.relim()
        ax.autoscale_view()
        if len(x) == 0:
            ax.set_xlim(0, 1)

    @staticmethod
    def inputs(day: date, revenue: pd.DataFrame, late: pd.DataFrame, success: pd.DataFrame) -> dict[str, str]:
        """A digest of what each chart of the day shows (equal digests, equal PNG bytes)."""
        return {"revenue.png": _digest("revenue", str(day), revenue), "quality_rates.png": _digest("quality", late),
                "payment_success.png": _digest("success", str(day), success)}

    def day(self, day: date, revenue: pd.DataFrame, late: pd.DataFrame, success: pd.DataFrame) -> dict[str, bytes]:
        """The day's three charts: revenue and quality over the CHART_DAYS days to `day`, success on `day`."""
        digests = self.inputs(day, revenue, late, success)
        def draw_revenue():
            fig, ax = self._revenue
            self._series(ax, (self._gross, self._net), revenue["date"].to_numpy(),
                         (revenue["gross_revenue_ngn"].to_numpy(), revenue["net_revenue_ngn"].to_numpy()))
            ax.set_title(f"Revenue (NGN), {CHART_DAYS} days to {day}")
            return fig

        def draw_quality():
            fig, ax = self._quality
            self._series(ax, (self._dup, self._late), late["ingestion_date"].to_numpy(),
                         ((late["duplicate_rate"] * 100).to_numpy(), (late["late_pct"] * 100).to_numpy()))
            return fig

        def draw_success():
            fig, ax = self._success
            vendors = success["vendor"].tolist()
            if vendors != self._vendors:  # new bars only when the vendors change; else heights in place
                ax.clear()
                self._bars = ax.bar(vendors, [0] * len(vendors))
                ax.set_ylim(0, 100)
                self._vendors = vendors
            for bar, rate in zip(self._bars, success["success_rate"] * 100):
                bar.set_height(rate)
            ax.set_title(f"Payment success % by vendor, {day}")
            return fig

        return {"revenue.png": self._cached(digests["revenue.png"], draw_revenue),
                "quality_rates.png": self._cached(digests["quality_rates.png"], draw_quality),
                "payment_success.png": self._cached(digests["payment_success.png"], draw_success)}


def _digest(*parts) -> str:
    text = repr(tuple(tuple(map(tuple, p.astype(str).to_numpy().tolist())) if isinstance(p, pd.DataFrame) else p
                      for p in parts))
    return hashlib.sha256(text.encode()).hexdigest()


def render_days(series: list[tuple[date, pd.DataFrame, pd.DataFrame, pd.DataFrame]]) -> list[dict[str, bytes]]:
    """Charts of several days in one process (a worker of `render_many`)."""
    renderer = ChartRenderer()
    return [renderer.day(*item) for item in series]


def render_many(series: list[tuple[date, pd.DataFrame, pd.DataFrame, pd.DataFrame]],
                workers: int) -> list[dict[str, bytes]]:
    """Charts of many days, drawn by `workers` processes (drawing is CPU-bound: ~20-30 ms a chart)."""
    if workers <= 1 or len(series) < 2 * POOL_MIN_DAYS_PER_WORKER:
        return render_days(series)
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    workers = min(workers, len(series) // POOL_MIN_DAYS_PER_WORKER)
    size = -(-len(series) // workers)
    chunks = [series[i:i + size] for i in range(0, len(series), size)]
    with ProcessPoolExecutor(max_workers=len(chunks), mp_context=get_context("spawn")) as pool:
        return [images for part in pool.map(render_days, chunks) for images in part]
