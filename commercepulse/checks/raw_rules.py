"""Rules on what landed and how it was staged: duplicate and late rates per ingestion day, open
quarantine records, completeness (raw = staged + unmapped), schema drift. The file ends with
their catalogue rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta

import pandas as pd
from pymongo.database import Database

from commercepulse.checks.outcome import (
    ERROR,
    SHOWN_ROWS,
    WARN,
    Outcome,
    Thresholds,
    as_date,
    ratio_rule,
    shown_title,
    window,
)
from commercepulse.checks.spec import INGESTION, PER_DAY, CheckSpec, DailyRule, RuleInputs
from commercepulse.lib.days import day_spans, days_between, utc_midnight
from commercepulse.mongo.indexes import RAW
from commercepulse.raw.quarantine import open_counts, open_counts_by_day, reason_class
from commercepulse.raw.quarantine import records as quarantine_records
from commercepulse.staging.extract import event_counts_by_day
from commercepulse.staging.normalize import FRAMES
from commercepulse.vendors.mapping import SHAPES
from commercepulse.warehouse.base import Warehouse

#: kpi_late_arrivals rows of ingestion days [$start, $end): the vendor feed's sums per day.
LATE_ARRIVALS_OF_DAYS = (
    "SELECT * FROM kpi_late_arrivals WHERE ingestion_date >= $start AND ingestion_date < $end"
)


def late_arrival_rows(warehouse: Warehouse, start: date, end: date) -> pd.DataFrame:
    """The per-day lines, duplicates, events and late events the rate rules judge (counted once,
    from the raw store, by vendor_feed_daily)."""
    return warehouse.query(LATE_ARRIVALS_OF_DAYS, {"start": start, "end": end})


def _duplicate_rate(stats: pd.DataFrame, settings: Thresholds) -> Outcome:
    return ratio_rule(
        "duplicate_event_rate", "duplicate_lines", "lines", stats, settings.check_duplicate_rate_max
    )


def duplicate_event_rate(i: RuleInputs, start: date, end: date) -> Outcome:
    """Lines repeating an already-landed id / valid lines read, per live ingestion day."""
    return _duplicate_rate(late_arrival_rows(i.warehouse, start, end), i.settings)


def _late_rate(stats: pd.DataFrame, settings: Thresholds) -> Outcome:
    return ratio_rule(
        "late_arriving_pct", "late_events", "events", stats, settings.check_late_rate_max
    )


def late_arriving_pct(i: RuleInputs, start: date, end: date) -> Outcome:
    """Late events / distinct live events first landed, per live ingestion day."""
    return _late_rate(late_arrival_rows(i.warehouse, start, end), i.settings)


def _each_ingestion_day(judge: Callable[[pd.DataFrame, Thresholds], Outcome]) -> DailyRule:
    """A rate rule for every ingestion day of a window, from one read of kpi_late_arrivals."""

    def daily(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
        stats = late_arrival_rows(i.warehouse, start, end)
        days = {
            pd.Timestamp(d).date(): rows for d, rows in stats.groupby("ingestion_date", sort=False)
        }
        empty = judge(stats.iloc[0:0], i.settings)  # a day without live ingestion (most of them)
        return {
            day: judge(days[day], i.settings) if day in days else empty
            for day in days_between(start, end)
        }

    return daily


def quarantine_open(i: RuleInputs, start: date, end: date) -> Outcome:
    """Quarantined lines not landed since (all of them: the rule is not windowed), by kind of
    problem, with the first records: file:line, ingestion day, vendor, reason and the start of
    the line."""
    db = i.db()
    return _quarantine_outcome(db, open_counts(db, None), i.settings, None)


def quarantine_open_by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    """`quarantine_open` of each ingestion day of [start, end): the lines that day's files brought."""
    db, days = i.db(), days_between(start, end)
    counts = open_counts_by_day(db, [d.isoformat() for d in days])
    return {d: _quarantine_outcome(db, counts[d.isoformat()], i.settings, d) for d in days}


def _quarantine_outcome(
    db: Database, counts: dict[str, int], settings: Thresholds, day: date | None
) -> Outcome:
    total = sum(counts.values())
    shown = (
        quarantine_records(db, day=day.isoformat() if day else None, limit=SHOWN_ROWS)
        if total
        else []
    )
    rows = tuple(
        {
            "file:line": f"{r['file']}:{r['line']}",
            "ingestion_day": r.get("day") or "-",
            "vendor": r["vendor"],
            "reason": r["reason"],
            "text": r["text"],
        }
        for r in shown
    )
    return Outcome(
        "quarantine_open",
        total <= settings.check_quarantine_open_max,
        total,
        settings.check_quarantine_open_max,
        WARN,
        {"by_reason": counts} if counts else {},
        note=(
            "; ".join(
                f"{r['file:line']} ({r['vendor']}, {reason_class(r['reason'])})" for r in rows[:3]
            )
            + (f" and {total - 3} more" if total > 3 else "")
            + " — fix the file or the parser, then `commercepulse quarantine replay`"
        )
        if total
        else "",
        rows=rows,
        rows_title=shown_title("open quarantine record", len(rows), total),
    )


def completeness_counts(
    db: Database, wh: Warehouse, start: date, end: date
) -> tuple[int, int, int]:
    """(raw events in the window, distinct event ids in staging frames, unmapped rows)."""
    raw = db[RAW].count_documents(
        {"event_time": {"$gte": utc_midnight(start), "$lt": utc_midnight(end)}}
    )
    union = " UNION ".join(
        f"SELECT event_id FROM {t} WHERE event_date >= $start AND event_date < $end"
        for t in FRAMES
        if t not in ("stg_unmapped", "stg_order_items")
    )
    staged = int(
        wh.query(f"SELECT count(DISTINCT event_id) AS n FROM ({union})", window(start, end))[
            "n"
        ].iat[0]
    )
    unmapped = int(
        wh.query(
            "SELECT count(*) AS n FROM stg_unmapped WHERE event_date >= $start AND event_date < $end",
            window(start, end),
        )["n"].iat[0]
    )
    return raw, staged, unmapped


#: Distinct staged events per business day of a window (stg_order_items repeats its order's id).
STAGED_BY_DAY = (
    "SELECT event_date AS d, count(*) AS n FROM ("
    + " UNION ".join(
        f"SELECT event_id, event_date FROM {t} WHERE event_date >= $start AND event_date < $end"
        for t in FRAMES
        if t not in ("stg_unmapped", "stg_order_items")
    )
    + ") GROUP BY 1"
)
#: Days counted by one statement of a whole-window count (bounds its distinct set).
COUNT_SPAN_DAYS = 31


def completeness_by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    """`completeness` of every day of [start, end) with grouped queries: raw, staged (a month per
    statement), unmapped."""
    db, wh = i.db(), i.warehouse
    raw = event_counts_by_day(db, utc_midnight(start), utc_midnight(end))
    # an event has one event_date, so the distinct (event_id, event_date) pairs of a day are its
    # distinct events: counted a month at a time, the distinct set is a month's, not the
    # window's (a year at 20k events a day: ~7.5M ids, the refresh's peak memory)
    staged = pd.concat(
        [
            wh.query(STAGED_BY_DAY, window(first, last))
            for first, last in day_spans(start, end, COUNT_SPAN_DAYS) or [(start, end)]
        ]
    )
    unmapped = wh.query(
        "SELECT event_date AS d, count(*) AS n FROM stg_unmapped "
        "WHERE event_date >= $start AND event_date < $end GROUP BY 1",
        window(start, end),
    )
    staged_of = {as_date(d): int(n) for d, n in zip(staged["d"], staged["n"])}
    unmapped_of = {as_date(d): int(n) for d, n in zip(unmapped["d"], unmapped["n"])}
    out = {}
    for day in days_between(start, end):
        counts = (raw.get(day.isoformat(), 0), staged_of.get(day, 0), unmapped_of.get(day, 0))
        in_flight = _landed_after_staging(db, wh, day) if counts[0] > sum(counts[1:]) else 0
        out[day] = completeness(*counts, in_flight=in_flight)
    return out


def _landed_after_staging(db: Database, wh: Warehouse, day: date) -> int:
    """Raw events of `day` not staged yet because they landed after the day was last staged: each
    landed later than every event staging saw (staging reads all that has landed and refuses to
    write an incomplete day). Such a day is waiting for its rebuild, not losing events."""
    union = " UNION ".join(f"SELECT event_id FROM {t} WHERE event_date = $day" for t in FRAMES)
    staged = set(wh.query(f"SELECT DISTINCT event_id FROM ({union})", {"day": day})["event_id"])
    landed = {
        d["_id"]: d.get("first_seen_at")
        for d in db[RAW].find(
            {
                "event_time": {
                    "$gte": utc_midnight(day),
                    "$lt": utc_midnight(day + timedelta(days=1)),
                }
            },
            {"first_seen_at": 1},
        )
    }
    seen = [t for event_id, t in landed.items() if event_id in staged and t is not None]
    last_staged = max(seen) if seen else None
    return sum(
        1
        for event_id, t in landed.items()
        if event_id not in staged and t is not None and (last_staged is None or t > last_staged)
    )


def completeness(raw: int, staged: int, unmapped: int, in_flight: int = 0) -> Outcome:
    """Every raw event of the window reaches a staging frame or stg_unmapped: ERROR, blocking.
    Events that landed after their day was last staged (`in_flight`: its rebuild is pending) are
    work in progress, not losses: they are reported, not failed."""
    missing = raw - staged - unmapped - in_flight
    details = {"raw_events": raw, "staged_events": staged, "unmapped_events": unmapped}
    if in_flight:
        details["landed_after_staging"] = in_flight
    return Outcome(
        "completeness",
        missing == 0,
        missing,
        0,
        ERROR,
        details,
        note=f"{in_flight} event(s) landed after the day was staged (rebuild pending)"
        if in_flight
        else "",
    )


BUILT_IN_VENDORS = frozenset(shape.vendor for shape in SHAPES)


def schema_drift(i: RuleInputs, start: date, end: date) -> Outcome:
    """Rows in stg_unmapped, grouped by vendor, event type, reason and unknown keys, each group
    with what fixes it (a mapping file for a vendor nobody mapped, a shape change for a known one)."""
    wh, settings = i.warehouse, i.settings
    rows = wh.query(
        """SELECT event_type, vendor, reason, unknown_keys, event_id FROM stg_unmapped
                       WHERE event_date >= $start AND event_date < $end""",
        window(start, end),
    )
    keys = sorted({k for value in rows["unknown_keys"].dropna() for k in value.split(",")})
    reasons = rows.groupby("reason").size().to_dict() if len(rows) else {}
    groups = (
        rows.fillna({"vendor": "", "event_type": "", "unknown_keys": ""})
        .groupby(["vendor", "event_type", "reason", "unknown_keys"])
        .agg(events=("event_id", "size"), example_event=("event_id", "min"))
        .reset_index()
        .sort_values(["events", "vendor"], ascending=[False, True])
        if len(rows)
        else rows
    )
    staged = _staged_vendors(wh) if len(rows) else set()
    found = tuple(
        {
            "vendor": g.vendor or "(none)",
            "event_type": g.event_type,
            "reason": g.reason,
            "unknown_keys": g.unknown_keys,
            "events": int(g.events),
            "example_event": g.example_event,
            "fix": drift_fix(g.vendor, g.event_type, g.reason, g.unknown_keys, staged),
        }
        for g in groups.itertuples()
    )
    fixes = list(dict.fromkeys(r["fix"] for r in found))
    return Outcome(
        "schema_drift",
        len(rows) <= settings.check_unmapped_max,
        len(rows),
        settings.check_unmapped_max,
        WARN,
        {
            "unknown_keys": keys,
            "reasons": {str(k): int(v) for k, v in reasons.items()},
            "by_vendor": dict(sum((Counter({r["vendor"]: r["events"]}) for r in found), Counter())),
        }
        if len(rows)
        else {"unknown_keys": [], "reasons": {}},
        note="; ".join(fixes[:2]) + (f" (+{len(fixes) - 2} more)" if len(fixes) > 2 else ""),
        rows=found[:SHOWN_ROWS],
        rows_title=shown_title("kind of unmapped record", min(len(found), SHOWN_ROWS), len(found)),
    )


def _staged_vendors(wh: Warehouse) -> set[str]:
    """Vendors some record of which a shape fits (built-in or a mapping file)."""
    union = " UNION ".join(
        f"SELECT DISTINCT vendor FROM {t}"
        for t in ("stg_orders", "stg_payments", "stg_refunds", "stg_shipments")
    )
    return set(wh.query(union)["vendor"].dropna())


def drift_fix(vendor: str, event_type: str, reason: str, keys: str, staged: set[str]) -> str:
    """What makes records of this kind map (README → How to add …)."""
    if not vendor:
        return "records without a vendor: the feed must name its vendor"
    if reason.startswith("unknown event_type"):
        return (
            f"{vendor} sends event type {event_type!r}, which SPEC does not define: "
            "agree the type with the vendor, or add it to the platform"
        )
    if vendor not in BUILT_IN_VENDORS and vendor not in staged:
        return (
            f"{vendor} has no mapping: add DATA_DIR/mappings/{vendor}.json "
            "(README → How to add …); its unmapped events are re-staged when the file appears"
        )
    where = (
        "its shape in commercepulse/vendors/mapping.py"
        if vendor in BUILT_IN_VENDORS
        else f"DATA_DIR/mappings/{vendor}.json"
    )
    return (
        f"{vendor} sent a {event_type} shape no mapping fits"
        + (f" (new keys {keys})" if keys else "")
        + f": add the new paths to {where}"
    )


ROWS = (
    CheckSpec(
        asset="events_raw",
        name="duplicate_event_rate",
        what="duplicate lines / lines",
        action="nothing, if a vendor re-sends by design; else ask the vendor why lines repeat",
        description="Lines repeating an already-landed event id / valid lines, per ingestion day "
        "(figures of kpi_late_arrivals; WARN).",
        rule=duplicate_event_rate,
        by_day=_each_ingestion_day(_duplicate_rate),
        scope=PER_DAY,
        calendar=INGESTION,
        additive=False,
        reads=("kpi_late_arrivals",),
    ),
    CheckSpec(
        asset="events_raw",
        name="late_arriving_pct",
        what="late events / events",
        action="nothing for the KPIs (late events restate their days); ask the vendor if it lasts",
        description="Late events / distinct live events first landed, per ingestion day (figures "
        "of kpi_late_arrivals; WARN).",
        rule=late_arriving_pct,
        by_day=_each_ingestion_day(_late_rate),
        scope=PER_DAY,
        calendar=INGESTION,
        additive=False,
        reads=("kpi_late_arrivals",),
    ),
    CheckSpec(
        asset="events_raw",
        name="quarantine_open",
        what="open quarantine record(s)",
        action="fix the file or the parser, then `commercepulse quarantine replay`",
        description="Lines in events_quarantine not landed since, by reason, with the first records "
        "(file:line, vendor, reason, text; WARN). Fix the file or the parser, then `commercepulse "
        "quarantine replay`. A day's report lists the lines of its own files.",
        rule=quarantine_open,
        by_day=quarantine_open_by_day,
        windowed=False,
    ),
    CheckSpec(
        asset="stg_unmapped",
        name="completeness",
        what="raw event(s) neither staged nor unmapped",
        action="rebuild the day (its business_day_job partition); if it stays, a staging rule drops events",
        description="Raw events of each business day = staged events + unmapped rows (ERROR, "
        "blocking).",
        by_day=completeness_by_day,
        blocking=True,
    ),
    CheckSpec(
        asset="stg_unmapped",
        name="schema_drift",
        what="record(s) no vendor shape fits",
        action="add the new paths to the vendor's mapping (the finding names the file), or agree the shape with the vendor",
        description="Records no vendor shape fits (schema drift), with their unknown keys (WARN).",
        rule=schema_drift,
    ),
)
