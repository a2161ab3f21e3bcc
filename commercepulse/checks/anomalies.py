"""Vendor feed anomalies: a vendor's ingestion day against its own trailing history.

Robust statistics, so one bad day in the history does not hide the next: the median and the
median absolute deviation (MAD) of the previous `check_feed_window_days` days, judged only once
the vendor has `check_feed_min_history_days` of them. A metric is flagged when
|value - median| / scale > `check_feed_z_max`, with scale = max(1.4826 x MAD, share x |median|,
the metric's floor): the floors keep a very steady feed (MAD ~ 0) from being flagged for noise.
A vendor seen in the history but absent on the day is judged with zero events.

Schema baselines: per vendor and event type, the top-level payload keys of the trailing days are
the baseline (`payload_keys`, recorded by the feed). A day whose payloads bring a key none of
those days had, or lack a key every one of them had, is flagged (`payload_keys`) with the key
names, whether or not the records still map.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import numpy as np
import orjson
import pandas as pd

from commercepulse.checks.outcome import WARN, Outcome, Thresholds
from commercepulse.checks.spec import INGESTION, PER_DAY, CheckSpec, RuleInputs
from commercepulse.lib.days import days_between
from commercepulse.warehouse.schema import ALL_TABLES

#: The judged metrics and the floor of their scale (counts in events, rates as fractions, minutes).
METRICS: dict[str, float] = {
    "events": 10,
    "payments": 5,
    "payment_success_rate": 0.03,
    "duplicate_rate": 0.02,
    "late_pct": 0.03,
    "unmapped_share": 0.02,
    "median_lag_minutes": 10,
}
MAD_TO_SIGMA = 1.4826
COUNTS = [c.name for c in ALL_TABLES["vendor_feed_daily"].columns if c.type == "INT64"]


def _fmt(metric: str, value: float) -> str:
    return f"{value:.1%}" if metric.endswith(("_rate", "_pct", "_share")) else f"{value:,.0f}"


def _describe(metric: str, value: float, median: float, z: float) -> str:
    change = f" ({(value - median) / median:+.0%})" if median else ""
    return f"{metric} {_fmt(metric, value)} vs median {_fmt(metric, median)}{change}, z {z:+.1f}"


#: A usual key is missing only when at least this many of the day's events were expected to carry
#: it (its share of the trailing days' events x the day's events): absence is then no chance.
EXPECTED_CARRIERS = 5


def schema_changes(today: str | None, past: pd.Series, min_days: int) -> list[str]:
    """Per event type, against the vendor's trailing days that carried it (at least `min_days`):
    keys none of those days' payloads had (new), and usual keys no payload has today although at
    least EXPECTED_CARRIERS were expected to (lost). `today`, `past`: `payload_keys` JSON."""
    if not isinstance(today, str) or not today:
        return []
    history = [orjson.loads(v) for v in past.dropna()]
    lines = []
    for event_type, (events, keys) in sorted(orjson.loads(today).items()):
        days = [day[event_type] for day in history if event_type in day]
        if len(days) < min_days:
            continue
        total = sum(n for n, _ in days)
        carriers: Counter = Counter()
        for _, day_keys in days:
            carriers.update(day_keys)
        new = sorted(set(keys) - set(carriers))
        lost = sorted(
            k
            for k, n in carriers.items()
            if k not in keys and events * n / total >= EXPECTED_CARRIERS
        )
        parts = [f"new key(s) {', '.join(new)}"] if new else []
        parts += [f"missing usual key(s) {', '.join(lost)}"] if lost else []
        if parts:
            lines.append(f"{event_type}: {'; '.join(parts)} (vs {len(days)} days)")
    return lines


def judge(figures: pd.DataFrame, days: list[date], settings: Thresholds) -> pd.DataFrame:
    """`figures` (vendor_feed_daily rows of `days` and of the history before them) with `judged`,
    `flagged` and `anomalies` set for the rows of `days`, plus zero-event rows for vendors
    missing on a day; returns the rows of `days` only."""
    window = timedelta(days=settings.check_feed_window_days)
    figures = figures.assign(ingestion_date=pd.to_datetime(figures["ingestion_date"]))
    out = []
    for day in days:
        stamp = pd.Timestamp(day)
        today = figures[figures["ingestion_date"] == stamp]
        history = figures[
            (figures["ingestion_date"] < stamp) & (figures["ingestion_date"] >= stamp - window)
        ]
        counts = history.groupby("vendor")["ingestion_date"].nunique()
        regulars = counts[counts >= settings.check_feed_min_history_days].index
        missing = sorted(set(regulars) - set(today["vendor"]))
        if missing:
            absent = pd.DataFrame({"ingestion_date": stamp, "vendor": missing})
            for column in COUNTS:
                absent[column] = 0
            today = pd.concat([today, absent], ignore_index=True)
        for _, row in today.sort_values("vendor").iterrows():
            past = history[history["vendor"] == row["vendor"]]
            judged = past["ingestion_date"].nunique() >= settings.check_feed_min_history_days
            flagged, lines = [], []
            for metric, floor in METRICS.items() if judged else ():
                values = past[metric].astype("float64").dropna().to_numpy()
                value = row.get(metric)
                if (
                    len(values) < settings.check_feed_min_history_days
                    or value is None
                    or pd.isna(value)
                ):
                    continue
                median = float(np.median(values))
                scale = max(
                    MAD_TO_SIGMA * float(np.median(np.abs(values - median))),
                    settings.check_feed_min_scale_share * abs(median),
                    floor,
                )
                z = (float(value) - median) / scale
                if abs(z) > settings.check_feed_z_max:
                    flagged.append(metric)
                    lines.append(_describe(metric, float(value), median, z))
            changes = (
                schema_changes(
                    row.get("payload_keys"),
                    past.get("payload_keys", pd.Series(dtype="object")),
                    settings.check_feed_min_history_days,
                )
                if judged
                else []
            )
            if changes:  # before the records become unmapped (or after, with their count)
                flagged.append("payload_keys")
                lines.extend(changes)
            out.append(
                {
                    **row.to_dict(),
                    "judged": bool(judged),
                    "flagged": ",".join(flagged) or None,
                    "anomalies": "; ".join(lines) or None,
                }
            )
    columns = ALL_TABLES["vendor_feed_daily"].names
    return pd.DataFrame(out, columns=columns) if out else pd.DataFrame(columns=columns)


def feed_anomalies_by_day(
    rows: pd.DataFrame, days: list[date], settings: Thresholds
) -> dict[date, Outcome]:
    """The check's outcome per ingestion day from the stored judgement (vendor_feed_daily rows)."""
    by_day = {
        pd.Timestamp(d).date(): r
        for d, r in rows.groupby(pd.to_datetime(rows["ingestion_date"]), sort=False)
    }
    empty = _feed_outcome(rows.iloc[0:0])  # a day without live ingestion (most of them)
    return {day: _feed_outcome(by_day[day]) if day in by_day else empty for day in days}


def _feed_outcome(today: pd.DataFrame) -> Outcome:
    """One ingestion day's verdict from its vendors' stored judgements."""
    flagged = today[today["flagged"].notna()]
    found = sum(len(f.split(",")) for f in flagged["flagged"])
    details = {"anomalies": {r.vendor: r.anomalies for r in flagged.itertuples()}} if found else {}
    details["vendors_judged"] = int(today["judged"].fillna(False).astype(bool).sum())
    note = "; ".join(f"{r.vendor} {r.anomalies}" for r in flagged.itertuples())
    return Outcome(
        "vendor_feed_anomalies",
        found == 0,
        found,
        0,
        WARN,
        details,
        window_only=("vendors_judged",),
        note=note,
        unjudged=""
        if details["vendors_judged"]
        else "no vendor had CHECK_FEED_MIN_HISTORY_DAYS days of history to be judged against",
    )


JUDGED = (
    "SELECT ingestion_date, vendor, judged, flagged, anomalies FROM vendor_feed_daily "
    "WHERE ingestion_date >= $start AND ingestion_date < $end"
)


def vendor_feed_anomalies(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    """The check's outcome for every ingestion day of [start, end) (asset check and daily report)."""
    judged = i.warehouse.query(JUDGED, {"start": start, "end": end})
    return feed_anomalies_by_day(judged, days_between(start, end), i.settings)


ROWS = (
    CheckSpec(
        asset="vendor_feed_daily",
        name="vendor_feed_anomalies",
        what="vendor day(s) far from their normal",
        action="look at the vendor's day in vendor_feed_daily; ask the vendor what changed",
        description="Vendor days far from the vendor's own trailing history (robust z over median "
        "and MAD of the last CHECK_FEED_WINDOW_DAYS days), and payloads that bring a new key or "
        "lose a usual one against the same days (WARN).",
        by_day=vendor_feed_anomalies,
        scope=PER_DAY,
        calendar=INGESTION,
    ),
)
