"""What each chart of a day shows: its series over the CHART_DAYS days to the day, cut from the
window's series read once (`Track`), and a digest of them (equal digests, equal SVG bytes): the
report writer decides from these whether a day's report changed (`svg_charts.py` draws them)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

CHART_DAYS = 60
CHART_NAMES = ("revenue.svg", "quality_rates.svg", "payment_success.svg", "vendor_feed.svg")
EPOCH = date(1970, 1, 1)


def day_number(day: date) -> int:
    return (day - EPOCH).days


@dataclass(frozen=True)
class Track:
    """One series of a window: day numbers (ascending) and named value arrays of equal length."""

    days: np.ndarray
    values: dict[str, np.ndarray]

    @classmethod
    def of(cls, frame: pd.DataFrame, day_column: str, columns: dict[str, str]) -> Track:
        """From a frame sorted by `day_column`; `columns`: name -> dtype."""
        stamps = pd.to_datetime(frame[day_column]).to_numpy("datetime64[D]")
        return cls(
            stamps.astype("int64"),
            {name: frame[name].to_numpy(dtype) for name, dtype in columns.items()},
        )

    def cut(self, day: date) -> Track:
        """The rows of the CHART_DAYS days to `day` (after day - CHART_DAYS, up to day)."""
        last = day_number(day)
        lo, hi = np.searchsorted(self.days, [last - CHART_DAYS, last], side="right")
        return Track(self.days[lo:hi], {k: v[lo:hi] for k, v in self.values.items()})

    def back(self, day: date) -> np.ndarray:
        """Days back from `day` (0 = the day itself), as floats for drawing."""
        return (self.days - day_number(day)).astype(float)

    def __len__(self) -> int:
        return len(self.days)

    def feed(self, digest) -> None:
        digest.update(self.days.tobytes())
        for name in sorted(self.values):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(self.values[name]).tobytes())


def _digest(kind: str, day: str, *tracks: Track, names: tuple[str, ...] = ()) -> str:
    digest = hashlib.sha256(f"{kind}|{day}|{'|'.join(names)}".encode())
    for track in tracks:
        track.feed(digest)
    return digest.hexdigest()


def inputs(
    day: date,
    revenue: Track,
    late: Track,
    success: dict[str, Track],
    feed: dict[str, Track],
) -> dict[str, str]:
    """A digest of what each chart of the day shows."""
    # the quality, success and feed charts name no day when empty: such days share one image
    return {
        "revenue.svg": _digest("revenue", str(day), revenue),
        "quality_rates.svg": _digest("quality", str(day) if len(late) else "", late),
        "payment_success.svg": _digest(
            "success", str(day) if success else "", *success.values(), names=tuple(success)
        ),
        "vendor_feed.svg": _digest(
            "feed", str(day) if feed else "", *feed.values(), names=tuple(feed)
        ),
    }
