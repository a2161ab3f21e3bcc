"""Data-quality rules (SPEC §7): one implementation each, used by asset checks and reports.

Every rule returns an `Outcome` with its figure, threshold, severity and verdict; windows are
business days [start, end) unless a rule says ingestion day.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pymongo.database import Database

from commercepulse.days import day_spans, days_between, utc_midnight
from commercepulse.mapping import SHAPES
from commercepulse.mongo.indexes import RAW
from commercepulse.raw.quarantine import open_counts, open_counts_by_day, reason_class
from commercepulse.raw.quarantine import records as quarantine_records
from commercepulse.settings import CheckThresholds
from commercepulse.staging.extract import event_counts_by_day
from commercepulse.staging.normalize import FRAMES
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.restatements import restatements
from commercepulse.warehouse.tables import FACTS

WARN, ERROR = "WARN", "ERROR"


#: What the rules read of the configuration: the settings' thresholds (also the fields of the
#: Dagster `ProjectSettings` resource, which subclasses it).
Thresholds = CheckThresholds


@dataclass
class Outcome:
    """A rule's verdict on a window."""

    name: str
    passed: bool
    figure: float | int
    threshold: float | int
    severity: str
    details: dict[str, Any] = field(default_factory=dict)
    #: detail keys that describe the window as a whole (counts that are not findings): not
    #: copied to the days of a clean window
    window_only: tuple[str, ...] = ()
    #: what was found, in words, appended to `why()` (e.g. the restatement lines)
    note: str = ""
    #: why nothing was judged (no lines that day, no vendor with enough history); "" = judged
    unjudged: str = ""
    #: the findings themselves, a few columns each (shown as a table in the UI and the report)
    rows: tuple[dict[str, Any], ...] = ()
    #: what `rows` are, said above the table ("first 20 of 143 open records")
    rows_title: str = ""

    @property
    def clean(self) -> bool:
        """Nothing found: every day of the window has figure 0."""
        return self.figure == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "passed": self.passed,
            "figure": self.figure,
            "threshold": self.threshold,
            "severity": self.severity,
            **({"details": self.details} if self.details else {}),
            **({"judged": False, "not_judged_because": self.unjudged} if self.unjudged else {}),
            **({"rows": list(self.rows), "rows_title": self.rows_title} if self.rows else {}),
        }

    def renamed(self, name: str) -> Outcome:
        """The same verdict under another name (`key_integrity:fact_orders` in a report)."""
        return replace(self, name=name)

    def description(self) -> str | None:
        """What the UI shows beside the verdict: why it failed, or that there was nothing to judge."""
        if not self.passed:
            return self.why()
        return f"nothing judged: {self.unjudged}" if self.unjudged else None

    def why(self) -> str:
        """One line for people: the figure against its threshold (and on how many days)."""
        days = self.details.get("days_failing")
        return (
            f"{self.figure} (threshold {self.threshold})"
            + (f" on {days} day(s)" if days else "")
            + (f": {self.note}" if self.note else "")
        )


def _window(start: date, end: date) -> dict[str, date]:
    return {"start": start, "end": end}


def _ratio_rule(name: str, numerator: str, denominator: str, stats, threshold: float) -> Outcome:
    num, den = int(stats[numerator].sum()), int(stats[denominator].sum())
    figure = round(num / den, 6) if den else 0.0
    per_day = {
        str(r.ingestion_date.date()): {
            numerator: int(getattr(r, numerator)),
            denominator: int(getattr(r, denominator)),
        }
        for r in stats.itertuples()
    }
    return Outcome(
        name,
        figure <= threshold,
        figure,
        threshold,
        WARN,
        {numerator: num, denominator: den, "per_ingestion_day": per_day},
        unjudged="" if den else f"no {denominator.replace('_', ' ')} landed that day",
    )


#: kpi_late_arrivals rows of ingestion days [$start, $end): the vendor feed's sums per day.
LATE_ARRIVALS_OF_DAYS = (
    "SELECT * FROM kpi_late_arrivals WHERE ingestion_date >= $start AND ingestion_date < $end"
)


def late_arrival_rows(warehouse: Warehouse, start: date, end: date) -> pd.DataFrame:
    """The per-day lines, duplicates, events and late events the rate rules judge (counted once,
    from the raw store, by vendor_feed_daily)."""
    return warehouse.query(LATE_ARRIVALS_OF_DAYS, {"start": start, "end": end})


def duplicate_event_rate(
    warehouse: Warehouse, start: date, end: date, settings: Thresholds, stats=None
) -> Outcome:
    """Lines repeating an already-landed id / valid lines read, per live ingestion day."""
    stats = late_arrival_rows(warehouse, start, end) if stats is None else stats
    return _ratio_rule(
        "duplicate_event_rate", "duplicate_lines", "lines", stats, settings.check_duplicate_rate_max
    )


def late_arriving_pct(
    warehouse: Warehouse, start: date, end: date, settings: Thresholds, stats=None
) -> Outcome:
    """Late events / distinct live events first landed, per live ingestion day."""
    stats = late_arrival_rows(warehouse, start, end) if stats is None else stats
    return _ratio_rule(
        "late_arriving_pct", "late_events", "events", stats, settings.check_late_rate_max
    )


def _by_day(rows, start: date, end: date, outcome) -> dict[date, Outcome]:
    """`outcome(rows of the day)` for every day of [start, end) from the window's finding rows."""
    groups: dict[date, list[int]] = {}
    for position, day in enumerate(rows["event_date"]):
        groups.setdefault(_as_date(day), []).append(position)
    clean = outcome(rows.iloc[0:0])
    return {
        day: outcome(rows.iloc[groups[day]]) if day in groups else clean
        for day in days_between(start, end)
    }


#: The classes of a successful payment whose order was never seen, most benign first.
UNKNOWN_ORDER, BEFORE_WINDOW, TRUE_ORPHAN = (
    "unknown_order_id",
    "order_before_data_window",
    "true_orphan",
)


def _payments_without_order_rows(wh: Warehouse, start: date, end: date, settings: Thresholds):
    """The window's successful payments whose order id has no order_created anywhere (SPEC §6: by
    order id, whatever the vendor: the dumps' shapes do not tie a payment to its order's vendor), each
    with its class: an order id the vendor marks unknown (CHECK_UNKNOWN_ORDER_PATTERN), a payment
    within CHECK_ORPHAN_EDGE_DAYS of the first order its vendor's source (dumps or live stream)
    holds (its order may predate the data), or a true orphan."""
    rows = wh.query(
        """
        WITH starts AS (SELECT vendor, source_kind, min(event_date) AS first_order_day
                        FROM stg_orders GROUP BY vendor, source_kind)
        SELECT p.vendor, p.order_id, p.event_id, p.event_date, p.source_kind, s.first_order_day
        FROM stg_payments p LEFT JOIN starts s ON s.vendor = p.vendor AND s.source_kind = p.source_kind
        WHERE p.event_date >= $start AND p.event_date < $end AND p.status = 'SUCCESS' AND p.duplicate_of IS NULL
          AND NOT EXISTS (SELECT 1 FROM stg_orders o WHERE o.order_id = p.order_id)
        ORDER BY p.vendor, p.order_id, p.event_id""",
        _window(start, end),
    )
    pattern = settings.check_unknown_order_pattern
    unknown = (
        rows["order_id"].fillna("").str.contains(pattern)
        if pattern
        else rows["order_id"].isna() & False
    )
    first = pd.to_datetime(rows["first_order_day"])
    edge = first.notna() & (
        pd.to_datetime(rows["event_date"])
        < first + pd.Timedelta(days=settings.check_orphan_edge_days)
    )
    kind = np.where(unknown, UNKNOWN_ORDER, np.where(edge, BEFORE_WINDOW, TRUE_ORPHAN))
    return rows.assign(kind=pd.Series(kind, index=rows.index, dtype="string"))


def _payments_without_order(rows, settings: Thresholds) -> Outcome:
    orphans = rows[rows["kind"] == TRUE_ORPHAN]
    n = len(orphans)
    by_class = {
        k: int((rows["kind"] == k).sum()) for k in (UNKNOWN_ORDER, BEFORE_WINDOW, TRUE_ORPHAN)
    }
    shown = pd.concat([orphans, rows[rows["kind"] != TRUE_ORPHAN]]).head(SHOWN_ROWS)
    return Outcome(
        "payments_without_order",
        n <= settings.check_orphan_payments_max,
        n,
        settings.check_orphan_payments_max,
        WARN,
        {
            "payments_without_order": len(rows),
            "by_class": by_class,
            "edge_days": settings.check_orphan_edge_days,
            "sample_orders": [
                f"{v}/{o}"
                for v, o in orphans[["vendor", "order_id"]].head(10).itertuples(index=False)
            ],
        },
        note=f"{by_class[UNKNOWN_ORDER]} to unknown order ids and {by_class[BEFORE_WINDOW]} near the "
        "start of the data not counted"
        if len(rows) > n
        else "",
        rows=tuple(
            {
                "class": r.kind,
                "vendor": r.vendor,
                "order_id": r.order_id,
                "event_id": r.event_id,
                "day": _as_date(r.event_date).isoformat(),
                "source": r.source_kind,
            }
            for r in shown.itertuples()
        ),
        rows_title=_shown("payment without order", len(shown), len(rows)),
    )


def payments_without_order(wh: Warehouse, start: date, end: date, settings: Thresholds) -> Outcome:
    """Successful payments of the window whose (vendor, order id) has no order_created anywhere."""
    return _payments_without_order(_payments_without_order_rows(wh, start, end, settings), settings)


def payments_without_order_by_day(
    wh: Warehouse, start: date, end: date, settings: Thresholds
) -> dict[date, Outcome]:
    """`payments_without_order` of every day of [start, end), from one query."""
    return _by_day(
        _payments_without_order_rows(wh, start, end, settings),
        start,
        end,
        lambda rows: _payments_without_order(rows, settings),
    )


def _refunds_without_payment_rows(wh: Warehouse, start: date, end: date):
    return wh.query(
        """
        SELECT r.vendor, r.order_id, r.event_date FROM stg_refunds r
        WHERE r.event_date >= $start AND r.event_date < $end AND NOT EXISTS (
          SELECT 1 FROM stg_payments p WHERE p.vendor = r.vendor AND p.order_id = r.order_id
            AND p.status = 'SUCCESS' AND p.duplicate_of IS NULL)
        ORDER BY 1, 2""",
        _window(start, end),
    )


def _refunds_without_payment(rows) -> Outcome:
    return Outcome(
        "refunds_without_payment",
        len(rows) == 0,
        len(rows),
        0,
        WARN,
        {
            "sample_orders": [
                f"{v}/{o}" for v, o in rows[["vendor", "order_id"]].head(10).itertuples(index=False)
            ]
        },
    )


def refunds_without_payment(wh: Warehouse, start: date, end: date, settings: Thresholds) -> Outcome:
    """Refunds of the window for an order with no successful payment."""
    return _refunds_without_payment(_refunds_without_payment_rows(wh, start, end))


def refunds_without_payment_by_day(
    wh: Warehouse, start: date, end: date, settings: Thresholds
) -> dict[date, Outcome]:
    """`refunds_without_payment` of every day of [start, end), from one query."""
    return _by_day(
        _refunds_without_payment_rows(wh, start, end), start, end, _refunds_without_payment
    )


TOUCHED_ORDERS = " UNION ".join(
    f"SELECT vendor, order_id FROM {t} WHERE event_date >= $start AND event_date < $end"
    for t in ("stg_orders", "stg_payments", "stg_refunds", "stg_shipments", "stg_order_updates")
)
#: fact_orders rows whose order the window touched (EXISTS: BigQuery has no row-value IN).
TOUCHED_BY_WINDOW = (
    f"EXISTS (SELECT 1 FROM ({TOUCHED_ORDERS}) touched "
    f"WHERE touched.vendor = fact_orders.vendor AND touched.order_id = fact_orders.order_id)"
)


#: An order's rows share exactly one currency (count(DISTINCT currency) = 1, NULL-only orders
#: included, without a DISTINCT aggregate's second hash table).
ONE_CCY = "(min(x.currency) IS NOT NULL AND min(x.currency) = max(x.currency))"
#: Refunded orders the window touched, then only their payments (the same rows: the comparison is
#: an inner join on them). Joining every payment to every touched order, as before, held two hash
#: tables of all orders for a year's window: out of memory at DUCKDB_MEMORY_LIMIT=256MB, and once
#: at 384MB (then the default); this statement alone ran over the year × 20k world's history at 128MB.
OVER_REFUNDS = f"""
WITH ref AS (SELECT x.vendor, x.order_id, {ONE_CCY} AS one_ccy, min(x.currency) AS ccy,
               sum(x.amount) AS refunded, sum(x.amount_ngn) AS refunded_ngn
        FROM stg_refunds x JOIN ({TOUCHED_ORDERS}) touched USING (vendor, order_id)
        GROUP BY x.vendor, x.order_id),
pay AS (SELECT x.vendor, x.order_id, {ONE_CCY} AS one_ccy, min(x.currency) AS ccy,
               sum(x.amount) AS paid, sum(x.amount_ngn) AS paid_ngn
        FROM stg_payments x JOIN (SELECT vendor, order_id FROM ref) r USING (vendor, order_id)
        WHERE x.status = 'SUCCESS' AND x.duplicate_of IS NULL GROUP BY x.vendor, x.order_id),
cmp AS (SELECT pay.vendor, pay.order_id, pay.paid_ngn, ref.refunded_ngn,
               (pay.one_ccy AND ref.one_ccy AND pay.ccy = ref.ccy) AS same_currency,
               pay.ccy AS currency, pay.paid, ref.refunded
        FROM pay JOIN ref ON ref.vendor = pay.vendor AND ref.order_id = pay.order_id)
SELECT vendor, order_id, same_currency, currency, paid, refunded, paid_ngn, refunded_ngn FROM cmp
WHERE CASE WHEN same_currency THEN refunded > paid + 0.005 ELSE refunded_ngn > paid_ngn * (1 + $tolerance) + 0.005 END
ORDER BY vendor, order_id"""


def over_refunded_orders(wh: Warehouse, start: date, end: date, settings: Thresholds) -> Outcome:
    """Paid orders (touched by the window) refunded beyond what was paid: an ERROR finding.

    Refunds are compared with payments in their own currency when both share one (an order paid
    and refunded 35.67 USD is even, whatever the two days' rates); only mixed currencies are
    compared in NGN, with the stated tolerance `CHECK_OVER_REFUND_FX_TOLERANCE` (a share
    of the paid NGN) for the FX difference between the payment and refund days. Orders with no successful payment at all are
    `refunds_without_payment`, not this rule."""
    tolerance = settings.check_over_refund_fx_tolerance
    rows = wh.query(OVER_REFUNDS, {**_window(start, end), "tolerance": tolerance})
    return Outcome(
        "over_refunded_orders",
        len(rows) == 0,
        len(rows),
        0,
        ERROR,
        {
            "excess_ngn": round(float((rows["refunded_ngn"] - rows["paid_ngn"]).sum()), 2),
            "compared_in_original_currency": int(rows["same_currency"].sum()),
            "compared_in_ngn": int((~rows["same_currency"].astype(bool)).sum()),
            "fx_tolerance": tolerance,
            "sample_orders": [
                f"{v}/{o}" for v, o in rows[["vendor", "order_id"]].head(10).itertuples(index=False)
            ],
        },
    )


BUILT_IN_VENDORS = frozenset(shape.vendor for shape in SHAPES)


def schema_drift(wh: Warehouse, start: date, end: date, settings: Thresholds) -> Outcome:
    """Rows in stg_unmapped, grouped by vendor, event type, reason and unknown keys, each group
    with what fixes it (a mapping file for a vendor nobody mapped, a shape change for a known one)."""
    rows = wh.query(
        """SELECT event_type, vendor, reason, unknown_keys, event_id FROM stg_unmapped
                       WHERE event_date >= $start AND event_date < $end""",
        _window(start, end),
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
        rows_title=_shown("kind of unmapped record", min(len(found), SHOWN_ROWS), len(found)),
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
        "its shape in commercepulse/mapping.py"
        if vendor in BUILT_IN_VENDORS
        else f"DATA_DIR/mappings/{vendor}.json"
    )
    return (
        f"{vendor} sent a {event_type} shape no mapping fits"
        + (f" (new keys {keys})" if keys else "")
        + f": add the new paths to {where}"
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
        wh.query(f"SELECT count(DISTINCT event_id) AS n FROM ({union})", _window(start, end))[
            "n"
        ].iat[0]
    )
    unmapped = int(
        wh.query(
            "SELECT count(*) AS n FROM stg_unmapped WHERE event_date >= $start AND event_date < $end",
            _window(start, end),
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


def completeness_by_day(db: Database, wh: Warehouse, start: date, end: date) -> dict[date, Outcome]:
    """`completeness` of every day of [start, end) with grouped queries: raw, staged (a month per
    statement), unmapped."""
    raw = event_counts_by_day(db, utc_midnight(start), utc_midnight(end))
    # an event has one event_date, so the distinct (event_id, event_date) pairs of a day are its
    # distinct events: counted a month at a time, the distinct set is a month's, not the
    # window's (a year at 20k events a day: ~7.5M ids, the refresh's peak memory)
    staged = pd.concat(
        [
            wh.query(STAGED_BY_DAY, _window(first, last))
            for first, last in day_spans(start, end, COUNT_SPAN_DAYS) or [(start, end)]
        ]
    )
    unmapped = wh.query(
        "SELECT event_date AS d, count(*) AS n FROM stg_unmapped "
        "WHERE event_date >= $start AND event_date < $end GROUP BY 1",
        _window(start, end),
    )
    staged_of = {_as_date(d): int(n) for d, n in zip(staged["d"], staged["n"])}
    unmapped_of = {_as_date(d): int(n) for d, n in zip(unmapped["d"], unmapped["n"])}
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


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") else value


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


#: How to select a fact's rows of a business-day window, and its date for dim_date.
FACT_WINDOW = {
    "fact_orders": (TOUCHED_BY_WINDOW, "order_date"),
    "fact_payments": ("event_date >= $start AND event_date < $end", "paid_date"),
    "fact_refunds": ("event_date >= $start AND event_date < $end", "refund_date"),
    "fact_shipments": ("event_date >= $start AND event_date < $end", "CAST(status_time AS DATE)"),
    "fact_order_daily": ("date >= $start AND date < $end", "date"),
}


def key_integrity(wh: Warehouse, table: str, start: date, end: date) -> Outcome:
    """The window's rows: unique, non-null keys (ERROR), and rows whose order or customer is
    missing from its dimension (reported in the metadata). Dates are `dim_date_coverage`'s: dim_date
    is rebuilt after the facts, so a fact's check would read the calendar of the previous run."""
    spec = FACTS[table]
    key = ", ".join(spec.key)
    where, _ = FACT_WINDOW[table]
    rows = f"(SELECT * FROM {table} WHERE {where})"
    params = _window(start, end)
    dups = _count(
        wh,
        f"SELECT count(*) AS n FROM (SELECT {key} FROM {rows} GROUP BY {key} HAVING count(*) > 1)",
        params,
    )
    nulls = _count(
        wh,
        f"SELECT count(*) AS n FROM {rows} WHERE " + " OR ".join(f"{k} IS NULL" for k in spec.key),
        params,
    )
    orphans: dict[str, int] = {}
    if table == "fact_orders":
        orphans["customer_missing_from_dim_customer"] = _count(
            wh,
            f"""SELECT count(*) AS n FROM {rows} f
            WHERE customer_key IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dim_customer c
                                                           WHERE c.customer_key = f.customer_key)""",
            params,
        )
    if table in ("fact_payments", "fact_refunds", "fact_shipments"):
        orphans["order_missing_from_fact_orders"] = _count(
            wh,
            f"""SELECT count(*) AS n FROM {rows} f
            WHERE NOT EXISTS (SELECT 1 FROM fact_orders o WHERE o.vendor = f.vendor AND o.order_id = f.order_id
                              AND o.order_time IS NOT NULL)""",
            params,
        )
    return Outcome(
        "key_integrity",
        dups == 0 and nulls == 0,
        dups + nulls,
        0,
        ERROR,
        {"duplicate_keys": dups, "null_keys": nulls, "key": key, **orphans},
        window_only=tuple(orphans),
    )


FACT_DATES = " UNION ".join(
    f"SELECT DISTINCT {column} AS d FROM {table}" for table, (_, column) in FACT_WINDOW.items()
)


def dim_date_coverage(wh: Warehouse) -> Outcome:
    """Every date a fact carries is a dim_date row (ERROR finding; runs after dim_date is rebuilt)."""
    missing = wh.query(
        f"SELECT f.d FROM ({FACT_DATES}) f WHERE f.d IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM dim_date x WHERE x.date = f.d) ORDER BY f.d"
    )
    days = [_as_date(d).isoformat() for d in missing["d"]]
    return Outcome(
        "covers_fact_dates",
        not days,
        len(days),
        0,
        ERROR,
        {"missing_days": days[:SHOWN_ROWS]} if days else {},
    )


def _count(wh: Warehouse, sql: str, params: dict | None = None) -> int:
    return int(
        wh.query(sql, {k: v for k, v in (params or {}).items() if f"${k}" in sql})["n"].iat[0]
    )


def revenue_restatements(wh: Warehouse, settings: Thresholds, run_id: str | None = None):
    """Each day whose net revenue now differs from its previous report (revenue_snapshots): the
    drift, the materiality limit max(floor, share x |net before|) and whether it is beyond it."""
    rows = wh.query("""
        WITH ranked AS (SELECT date, run_id, net_revenue_ngn,
                               row_number() OVER (PARTITION BY date ORDER BY reported_at DESC, run_id DESC) AS k
                        FROM revenue_snapshots)
        SELECT cur.date, cur.run_id, cur.net_revenue_ngn AS now_ngn, prev.net_revenue_ngn AS before_ngn
        FROM ranked cur JOIN ranked prev ON prev.date = cur.date AND prev.k = 2
        WHERE cur.k = 1 ORDER BY cur.date""")
    if run_id is not None:
        rows = rows[rows["run_id"] == run_id]
    rows = rows.assign(drift=(rows["now_ngn"] - rows["before_ngn"]).round(2))
    rows = rows[rows["drift"] != 0]
    limit = (rows["before_ngn"].abs() * settings.check_revenue_drift_max_share).clip(
        lower=settings.check_revenue_drift_floor_ngn
    )
    return rows.assign(limit=limit.round(2), material=rows["drift"].abs() > limit)


def materiality(settings: Thresholds) -> str:
    return (
        f"max({settings.check_revenue_drift_floor_ngn:,.0f} NGN, "
        f"{settings.check_revenue_drift_max_share:.1%} of the day's net as reported before)"
    )


def revenue_drift(wh: Warehouse, settings: Thresholds, run_id: str | None = None) -> Outcome:
    """Days whose reported net revenue was restated beyond materiality (late data restates days:
    expected; every change, material or not, is kept in kpi_restatements)."""
    changed = revenue_restatements(wh, settings, run_id)
    material = changed[changed["material"]]
    details: dict[str, Any] = {
        "days_changed": {str(r.date.date()): float(r.drift) for r in changed.itertuples()},
        "material_days": {str(r.date.date()): float(r.drift) for r in material.itertuples()},
        "drift_ngn": round(float(changed["drift"].abs().sum()), 2),
        "materiality": materiality(settings),
    }
    if len(changed):
        restated = restatements(wh)
        if run_id is not None:
            restated = restated[restated["run_id"] == run_id]
        details["restated"] = restated["description"].tolist()
        shown = restated[restated["date"].isin(material["date"])]["description"].tolist()
    else:
        shown = []
    note = "; ".join(shown[:3]) + (f" and {len(shown) - 3} more day(s)" if len(shown) > 3 else "")
    return Outcome("revenue_drift", material.empty, len(material), 0, WARN, details, note=note)


#: Findings listed in a check's metadata and the report (the count says how many there are).
SHOWN_ROWS = 20


def quarantine_open(db: Database, settings: Thresholds, day: date | None = None) -> Outcome:
    """Quarantined lines not landed since (of one ingestion day, or all), by kind of problem, with
    the first records: file:line, ingestion day, vendor, reason and the start of the line."""
    counts = open_counts(db, day.isoformat() if day else None)
    return _quarantine_outcome(db, counts, settings, day)


def quarantine_open_by_day(
    db: Database, start: date, end: date, settings: Thresholds
) -> dict[date, Outcome]:
    """`quarantine_open` of each ingestion day of [start, end): the lines that day's files brought."""
    days = days_between(start, end)
    counts = open_counts_by_day(db, [d.isoformat() for d in days])
    return {d: _quarantine_outcome(db, counts[d.isoformat()], settings, d) for d in days}


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
        rows_title=_shown("open quarantine record", len(rows), total),
    )


def _shown(what: str, shown: int, total: int) -> str:
    return f"{what}s ({shown})" if shown == total else f"first {shown} of {total} {what}s"
