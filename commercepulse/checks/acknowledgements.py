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


def acknowledge_days(
    wh: Warehouse,
    settings: Thresholds,
    days: list[date],
    note: str,
    by: str = "",
    run_id: str = "",
    now: datetime | None = None,
) -> tuple[list[Acknowledged], list[str]]:
    """Accept the net revenue of every day of `days` with a material restatement open, in one
    write; returns (what was accepted, why each other day was not). InputError (one line, what to
    do) when the note is blank or no day was open."""
    if not note.strip():
        raise InputError("say why in --note (it is shown beside the day's figure)")
    recorder = run_id or f"cli-{uuid.uuid4().hex[:12]}"
    # a retried run judges the days without its own first try's rows (which it replaces)
    states = drift_states(wh, settings, skip_run=recorder).set_index("date")
    done, refused = [], []
    for day in days:
        if day not in states.index:
            refused.append(f"{day} has no reported net revenue: nothing to acknowledge")
            continue
        row = states.loc[day]
        if not row["open"]:
            refused.append(
                f"{day} has no material restatement open (net {row['now']:,.2f} NGN, within "
                f"{row['limit']:,.2f} NGN of its accepted {row['baseline']:,.2f} NGN): nothing "
                "to acknowledge"
            )
            continue
        done.append(
            Acknowledged(day, float(row["now"]), float(row["drift"]), float(row["baseline"]))
        )
    if not done:
        raise InputError("; ".join(refused[:3]) or "no day given")
    accepted = pd.DataFrame(
        {
            "date": [d.day for d in done],
            "acknowledged_at": now or datetime.now(UTC).replace(tzinfo=None),
            "net_revenue_ngn": [d.accepted_ngn for d in done],
            "acknowledged_by": by or None,
            "note": note.strip(),
            "run_id": recorder,
        }
    )
    # appended; a retried run replaces its own rows
    wh.replace_keys([("revenue_acknowledgements", "run_id", [recorder], accepted)])
    return done, refused
