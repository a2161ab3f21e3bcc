"""Write generated live days and bootstrap dumps to disk (same seed => same bytes)."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson

from commercepulse.generate.vendors import DUMP_ORDER_WRITERS, DUMP_SHIPMENT_WRITERS, LIVE_WRITERS
from commercepulse.generate.world import (
    EVENTS_PER_ORDER,
    VENDORS,
    day_start,
    event_id_for,
    lifecycle,
    make_order,
    orders_of_day,
    rng_for,
    spell_iso,
    usd_ngn,
)

MAX_LATE_DAYS = 8
POOL_DAYS = 16  # a lifecycle spans <= ~8 days, plus <= 8 days of lateness


def _live_lines(
    seed: int,
    ev,
    events_per_day: int,
    late_rate: float,
    drift_rate: float,
    resend_rate: float = 0.01,
) -> list[tuple[datetime, dict]]:
    """The line(s) one lifecycle event produces, each with its ingestion time."""
    rng = rng_for(seed, ev.key, "ingest")
    late = rng.random() < late_rate
    delay = (
        timedelta(days=rng.randint(1, MAX_LATE_DAYS), minutes=rng.randint(1, 600))
        if late
        else timedelta(minutes=rng.randint(1, 120))
    )
    drift = rng.random() < drift_rate
    payload = LIVE_WRITERS[ev.event_type][ev.vendor](ev.body, drift)
    ingested = ev.time + delay
    line = {
        "event_id": event_id_for(seed, ev.key),
        "event_type": ev.event_type,
        "event_time": spell_iso(ev.time),
        "vendor": ev.vendor,
        "payload": payload,
        "ingested_at": spell_iso(ingested),
    }
    out = [(ingested, line)]
    if ev.event_type == "payment_succeeded" and rng.random() < resend_rate:
        again = ingested + timedelta(minutes=rng.randint(1, 30))
        out.append(
            (
                again,
                {
                    **line,
                    "event_id": event_id_for(seed, ev.key, "resent"),
                    "ingested_at": spell_iso(again),
                },
            )
        )
    return out


def live_days(
    seed: int, days: list[date], events: int, dup_rate: float, late_rate: float, drift_rate: float
) -> Iterator[tuple[date, list[bytes]]]:
    """(ingestion day, its lines), in day order, each yielded as soon as it is complete.

    Lines ingested on day X come only from orders created on days <= X, so once order day X
    is simulated, X is final: memory holds the open days of the pool, not the whole range.
    """
    wanted = set(days)
    per_day_orders = max(1, round(events / EVENTS_PER_ORDER))
    buckets: dict[date, list[tuple[datetime, dict]]] = defaultdict(list)
    d = min(days) - timedelta(days=POOL_DAYS)
    while d <= max(days):
        for order in orders_of_day(seed, d, per_day_orders):
            for ev in lifecycle(seed, order):
                for ingested, line in _live_lines(seed, ev, events, late_rate, drift_rate):
                    if ingested.date() in wanted:
                        buckets[ingested.date()].append((ingested, line))
        if d in wanted:
            yield d, _with_duplicates(seed, d, buckets.pop(d, []), dup_rate)
        d += timedelta(days=1)


def _with_duplicates(
    seed: int, day: date, lines: list[tuple[datetime, dict]], dup_rate: float
) -> list[bytes]:
    rng = rng_for(seed, day.isoformat(), "dups")
    lines = sorted(lines, key=lambda pair: (pair[0], pair[1]["event_id"]))
    rows = [line for _, line in lines]
    end = day_start(day) + timedelta(days=1) - timedelta(seconds=1)
    for ingested, line in rng.sample(lines, min(len(lines), round(dup_rate * len(lines)))):
        copy = dict(line)
        if rng.random() < 0.5:  # a repeat sometimes carries a later ingestion time
            copy["ingested_at"] = spell_iso(
                min(end, ingested + timedelta(minutes=rng.randint(1, 180)))
            )
        rows.insert(rng.randrange(len(rows) + 1), copy)
    rng.shuffle(rows)
    return [orjson.dumps(row) for row in rows]


def write_live(
    out: Path,
    seed: int,
    start: date,
    days: int = 1,
    events: int = 2000,
    dup_rate: float = 0.05,
    late_rate: float = 0.10,
    drift_rate: float = 0.15,
) -> list[Path]:
    """Write `out/YYYY-MM-DD/events.jsonl` for `days` consecutive ingestion days."""
    wanted = [start + timedelta(days=i) for i in range(days)]
    written = []
    for day, rows in live_days(seed, wanted, events, dup_rate, late_rate, drift_rate):
        folder = out / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "events.jsonl"
        path.write_bytes(b"\n".join(rows) + b"\n")
        written.append(path)
    return written


def _dump(path: Path, records: list[dict]) -> None:
    path.write_bytes(orjson.dumps(records, option=orjson.OPT_INDENT_2))


def write_bootstrap(out: Path, seed: int = 7, orders: int = 1200, year: int = 2023) -> list[Path]:
    """Historical dumps in the three dump shapes, plus `fx_rates_YEAR.csv` beside the folder."""
    rng = rng_for(seed, year, "bootstrap")
    start = datetime(year, 1, 1, tzinfo=UTC)
    span = (datetime(year + 1, 1, 1, tzinfo=UTC) - start).total_seconds() - 10 * 86400
    dumps: dict[str, list[dict]] = {k: [] for k in ("orders", "payments", "refunds", "shipments")}
    for n in range(orders):
        oid = f"ORD-{seed}{n + 1:06d}"  # the seed in the id: distinct seeds, distinct orders
        order = make_order(
            seed, oid, start + timedelta(seconds=rng.randrange(int(span))), rng.choice(VENDORS)
        )
        vendor = order["vendor"]
        dumps["orders"].append(DUMP_ORDER_WRITERS[vendor](order, False, full=True))
        events = lifecycle(seed, order, unknown_rate=0.03)
        if any(e.event_type == "payment_succeeded" for e in events) and rng.random() < 0.08:
            pay = next(e for e in events if e.event_type == "payment_succeeded")
            failed = {
                **pay.body,
                "status": "FAILED",
                "time": pay.body["time"] - timedelta(minutes=5),
                "tx": pay.body["tx"] + "F",
            }
            dumps["payments"].append(LIVE_WRITERS["payment_succeeded"][vendor](failed, False))
        history = [e for e in events if e.event_type == "shipment_updated"]
        for ev in events:
            if ev.event_type == "payment_succeeded":
                status = "FAILED" if rng.random() < 0.05 else "SUCCESS"
                dumps["payments"].append(
                    LIVE_WRITERS[ev.event_type][vendor]({**ev.body, "status": status}, False)
                )
            elif ev.event_type == "refund_issued":
                dumps["refunds"].append(LIVE_WRITERS[ev.event_type][vendor](ev.body, False))
        if history:
            first = history[0].body
            dumps["shipments"].append(
                DUMP_SHIPMENT_WRITERS[vendor](
                    {
                        "order_id": oid,
                        "tracking": first["tracking"],
                        "carrier": rng.choice(["GIG", "DHL", "FedEx"]),
                        "history": [{"status": e.body["status"], "time": e.time} for e in history],
                    }
                )
            )
    folder = out / "bootstrap"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, records in dumps.items():
        path = folder / f"{kind}_{year}.json"
        _dump(path, records)
        paths.append(path)
    paths.append(write_fx(out, year))
    return paths


def write_fx(out: Path, year: int) -> Path:
    path = out / f"fx_rates_{year}.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "USDNGN"])
        day = date(year, 1, 1)
        while day.year == year:
            writer.writerow([day.isoformat(), int(usd_ngn(day))])
            day += timedelta(days=1)
    return path
