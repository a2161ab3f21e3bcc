"""An analyst acknowledges a day's material restatement: the day's net revenue as it stands is
accepted, and `revenue_drift` judges the day against it from then on (`revenue_rules`). One
implementation for the CLI (`commercepulse acknowledge`) and the UI (asset
`revenue_acknowledgements`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd

from commercepulse.checks.outcome import Thresholds
from commercepulse.checks.revenue_rules import drift_states
from commercepulse.errors import InputError
from commercepulse.warehouse.base import Warehouse


@dataclass(frozen=True)
class Acknowledged:
    day: date
    accepted_ngn: float
    drift_ngn: float
    baseline_ngn: float

    def line(self) -> str:
        return (
            f"{self.day} net revenue {self.accepted_ngn:,.2f} NGN accepted "
            f"({self.drift_ngn:+,.2f} NGN from {self.baseline_ngn:,.2f} NGN); revenue_drift "
            "judges the day against it from now on"
        )


def acknowledge(
    wh: Warehouse,
    settings: Thresholds,
    day: date,
    note: str,
    by: str = "",
    run_id: str = "",
    now: datetime | None = None,
) -> Acknowledged:
    """Record the acceptance of `day`'s restated net revenue. InputError (one line, what to do)
    when the day has no material restatement open."""
    states = drift_states(wh, settings)
    state = states[states["date"] == day]
    if state.empty:
        raise InputError(f"{day} has no reported net revenue: nothing to acknowledge")
    row = state.iloc[0]
    if not row["open"]:
        raise InputError(
            f"{day} has no material restatement open (net {row['now']:,.2f} NGN, within "
            f"{row['limit']:,.2f} NGN of its accepted {row['baseline']:,.2f} NGN): nothing to "
            "acknowledge"
        )
    if not note.strip():
        raise InputError("say why in --note (it is shown beside the day's figure)")
    when = now or datetime.now(UTC).replace(tzinfo=None)
    recorder = run_id or f"cli-{uuid.uuid4().hex[:12]}"
    wh.replace_keys(
        [
            (
                "revenue_acknowledgements",
                "run_id",
                [recorder],  # appended; a retried run replaces its own row
                pd.DataFrame(
                    {
                        "date": [day],
                        "acknowledged_at": [when],
                        "net_revenue_ngn": [float(row["now"])],
                        "acknowledged_by": [by or None],
                        "note": [note.strip()],
                        "run_id": [recorder],
                    }
                ),
            )
        ]
    )
    return Acknowledged(day, float(row["now"]), float(row["drift"]), float(row["baseline"]))


def acknowledge_days(
    wh: Warehouse,
    settings: Thresholds,
    days: list[date],
    note: str,
    by: str = "",
    run_id: str = "",
) -> tuple[list[Acknowledged], list[str]]:
    """Acknowledge every open day of `days`; (what was accepted, why each other day was not).
    InputError when none was open (one line: why for the first few)."""
    done, refused = [], []
    for day in days:
        try:
            done.append(acknowledge(wh, settings, day, note, by, run_id))
        except InputError as exc:
            refused.append(str(exc))
    if not done:
        raise InputError("; ".join(refused[:3]) or "no day given")
    return done, refused
