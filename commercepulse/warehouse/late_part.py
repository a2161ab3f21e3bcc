"""The part of a provisional day's net revenue still expected from late data.

A vendor's day is provisional while its measured lateness expects more data for it
(`lateness.py`: the day is after the vendor's `final_through`). How much more: the vendor's own
recent final days say how complete a day usually is at the same age. For each of its final days
of the previous LATE_WINDOW_DAYS, the share of the day's successful payments (by NGN amount) whose
event had arrived by the day's end + age, pooled over the days (and the same for refunds); age is
the vendor's watermark (its newest live arrival) minus the provisional day's end. The day's
amounts so far, divided by that completeness, are what the day is expected to reach; the
difference is still expected:

    late net = gross so far x (1 / c_gross - 1) - refunds so far x (1 / c_refunds - 1)

Only live events count (the dumps arrive at once). A completeness of 0 (nothing usually in by this
age) gives no estimate (None), never a division by zero; a final day expects nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from commercepulse.warehouse.base import Warehouse

#: The final days a vendor's completeness is measured over.
LATE_WINDOW_DAYS = 28
DAY = timedelta(days=1)
#: Each live payment (successful) and refund of [start, end) with the arrival of its event.
ARRIVALS = """
SELECT 'gross' AS kind, f.vendor, f.paid_date AS date, f.amount_ngn AS amount, s.ingested_at
FROM fact_payments f JOIN stg_payments s ON s.event_id = f.event_id
WHERE f.status = 'SUCCESS' AND s.source_kind = 'live'
  AND f.paid_date >= $start AND f.paid_date < $end
UNION ALL
SELECT 'refunds' AS kind, f.vendor, f.refund_date AS date, f.amount_ngn AS amount, s.ingested_at
FROM fact_refunds f JOIN stg_refunds s ON s.event_id = f.event_id
WHERE s.source_kind = 'live' AND f.refund_date >= $start AND f.refund_date < $end"""
LATENESS = "SELECT vendor, watermark, final_through FROM kpi_vendor_lateness"


@dataclass(frozen=True)
class LatePart:
    """One vendor's provisional day: what it has, how complete such days are at its age, and
    what is still expected (None: no estimate)."""

    vendor: str
    age_hours: float
    so_far: dict[str, float]  # gross, refunds
    completeness: dict[str, float | None]
    late_net: float | None

    def line(self) -> str:
        shares = ", ".join(
            f"{kind} {c:.0%}" for kind, c in self.completeness.items() if c is not None
        )
        if self.late_net is None:
            why = (
                "its days usually have nothing by this age"
                if any(c == 0.0 for c in self.completeness.values())
                else "no final day of its live stream to measure"
            )
            return f"{self.vendor}: no estimate ({why})"
        return (
            f"{self.vendor} {self.late_net:+,.2f} (its days are usually {shares} complete "
            f"{self.age_hours:.0f} h after their end)"
        )


def expected_late(warehouse: Warehouse, day: date) -> list[LatePart]:
    """Each vendor for which `day` is provisional, with the net revenue still expected."""
    lateness = warehouse.query(LATENESS)
    provisional = lateness[
        lateness["final_through"].isna()
        | (pd.to_datetime(lateness["final_through"]) < pd.Timestamp(day))
    ]
    if provisional.empty:
        return []
    arrivals = warehouse.query(
        ARRIVALS, {"start": day - timedelta(days=LATE_WINDOW_DAYS), "end": day + DAY}
    )
    arrivals["date"] = pd.to_datetime(arrivals["date"])
    arrivals["amount"] = arrivals["amount"].astype(float)
    arrivals["ingested_at"] = pd.to_datetime(arrivals["ingested_at"], utc=True).dt.tz_localize(None)
    out = []
    for row in provisional.itertuples():
        watermark = pd.Timestamp(row.watermark)
        watermark = (
            watermark.tz_localize(None)
            if watermark.tzinfo is None
            else watermark.tz_convert("UTC").tz_localize(None)
        )
        age = watermark - pd.Timestamp(day + DAY)
        mine = arrivals[arrivals["vendor"] == row.vendor]
        final_through = (
            pd.Timestamp(row.final_through) if pd.notna(row.final_through) else pd.Timestamp.min
        )
        history = mine[(mine["date"] < pd.Timestamp(day)) & (mine["date"] <= final_through)]
        today = mine[mine["date"] == pd.Timestamp(day)]
        so_far, completeness, late = {}, {}, 0.0
        for kind, sign in (("gross", 1.0), ("refunds", -1.0)):
            past = history[history["kind"] == kind]
            total = float(past["amount"].sum())
            cutoff = past["date"] + DAY + age
            by_age = float(past.loc[past["ingested_at"] <= cutoff, "amount"].sum())
            share = by_age / total if total else None
            so_far[kind] = round(float(today.loc[today["kind"] == kind, "amount"].sum()), 2)
            completeness[kind] = share
            if not share:  # no final day to measure, or nothing usually in by this age
                if so_far[kind] or kind == "gross":
                    late = None
            elif late is not None:
                late += sign * so_far[kind] * (1 / share - 1)
        out.append(
            LatePart(
                row.vendor,
                age.total_seconds() / 3600,
                so_far,
                completeness,
                None if late is None else round(late, 2),
            )
        )
    return out


def late_lines(parts: list[LatePart]) -> list[str]:
    """The lines for people: the total still expected, then each vendor's."""
    known = [p.late_net for p in parts if p.late_net is not None]
    if not parts:
        return []
    total = f"{sum(known):+,.2f} NGN" if known else "no estimate"
    return [f"still expected from late data (provisional day): {total}"] + [
        f"  {p.line()}" for p in parts
    ]
