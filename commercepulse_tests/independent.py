"""Expectations computed straight from the raw files with plain json/datetime, never with the
code under test (its mapping table, parsers or SQL)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path


def load_dump(pack: Path, kind: str) -> list[dict]:
    return json.loads((pack / "bootstrap" / f"{kind}_2023.json").read_text())


def live_lines(pack: Path) -> list[dict]:
    return [
        json.loads(line)
        for line in (pack / "live_events/2025-01-15/events.jsonl").read_text().splitlines()
    ]


def first_arrivals(pack: Path) -> dict[str, dict]:
    seen: dict[str, dict] = {}
    for event in live_lines(pack):
        seen.setdefault(event["event_id"], event)
    return seen


def when(value) -> datetime:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    parsed = datetime.fromisoformat(value.replace("/", "-").replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def fx(pack: Path) -> dict[date, float]:
    with open(pack / "fx_rates_2023.csv") as handle:
        return {date.fromisoformat(r["date"]): float(r["USDNGN"]) for r in csv.DictReader(handle)}


def kobo(amount: float, rate: float = 1.0) -> Decimal:
    """SPEC §4 in Python's decimal module: amount × rate, rounded once, half-even, to the kobo
    (each number read as the literal it was written as)."""
    exact = Decimal(repr(float(amount))) * Decimal(repr(float(rate)))
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def to_ngn(amount: float, currency: str, day: date, rates: dict[date, float]) -> Decimal:
    if currency == "NGN":
        return kobo(amount)
    earlier = [d for d in rates if d <= day]
    return kobo(amount, rates[max(earlier) if earlier else min(rates)])


# Each vendor's payment spelling, written out by hand from SPEC §2.3.
def payment(record: dict) -> dict:
    if "orderRef" in record:
        return {
            "vendor": "vendor_a",
            "order": record["orderRef"],
            "time": when(record["paidAt"]),
            "status": (record.get("status") or record.get("payment_status")).upper(),
            "amount": record["amount"],
            "currency": record["currency"],
        }
    if "order_id" in record:
        return {
            "vendor": "vendor_b",
            "order": record["order_id"],
            "time": when(record["paid_at"]),
            "status": record["payment_status"].upper(),
            "amount": record.get("amountPaid", record.get("amount_paid")),
            "currency": record["currencyCode"],
        }
    return {
        "vendor": "vendor_c",
        "order": record["order"],
        "time": when(record["timestamp"]),
        "status": (record.get("state") or record.get("payment_state")).upper(),
        "amount": record["amt"],
        "currency": record["ccy"],
    }


def refund(record: dict) -> dict:
    if "orderRef" in record:
        return {
            "order": record["orderRef"],
            "time": when(record["refundedAt"]),
            "amount": record["amount"],
            "currency": record["currency"],
            "items": record.get("items") or record.get("refunded_items"),
        }
    if "order_id" in record:
        return {
            "order": record["order_id"],
            "time": when(record["refunded_at"]),
            "amount": record["refundAmount"],
            "currency": record["currencyCode"],
            "items": record.get("refunded_items"),
        }
    return {
        "order": record["order"],
        "time": when(record["ts"]),
        "amount": record["amt"],
        "currency": record["ccy"],
        "items": record.get("items_refunded") or record.get("items"),
    }


def order(record: dict) -> dict:
    if "orderRef" in record:
        return {
            "vendor": "vendor_a",
            "order": record["orderRef"],
            "time": when(record["created"]),
            "items": [(i["sku"], i["qty"], i["price"]) for i in record["items"]],
        }
    if "order_id" in record:
        return {
            "vendor": "vendor_b",
            "order": record["order_id"],
            "time": when(record["created_at"]),
            "items": [(i["sku"], i["quantity"], i["unit_price"]) for i in record["line_items"]],
        }
    return {
        "vendor": "vendor_c",
        "order": record["order"]["id"],
        "time": when(record["order"]["ts"]),
        "items": [
            (i.get("productSku") or i.get("sku"), i["qty"], i["price"]) for i in record["items"]
        ],
    }


def current_orders(records: list[tuple[str, dict]]) -> dict[tuple[str, str], dict]:
    """(vendor, order id) -> the latest order_created by order time (ties: larger event id)."""
    latest: dict[tuple[str, str], tuple] = {}
    for event_id, record in records:
        o = order(record)
        key = (o["vendor"], o["order"])
        if key not in latest or (o["time"], event_id) > latest[key][0]:
            latest[key] = ((o["time"], event_id), o)
    return {k: v[1] for k, v in latest.items()}


def history_length(record: dict) -> int:
    return len(
        record.get("updates") or record.get("status_history") or record.get("timeline") or []
    )


def payments_without_order_classes(datapack, edge_days: int, pattern: str) -> dict[str, int]:
    """The classes of those payments: an order id containing `pattern`, a payment within `edge_days`
    of the first order (UTC day) of its vendor's source (dumps / live stream), the rest."""
    dump_orders = [order(r) for r in load_dump(datapack, "orders")]
    live = list(first_arrivals(datapack).values())
    live_orders = [(e, order(e["payload"])) for e in live if e["event_type"] == "order_created"]
    known = {o["order"] for o in dump_orders} | {o["order"] for _, o in live_orders}
    first: dict[tuple[str, str], date] = {}
    for source, vendor, day in [
        ("bootstrap", o["vendor"], o["time"].astimezone(UTC).date()) for o in dump_orders
    ] + [
        ("live", o["vendor"], when(e["event_time"]).astimezone(UTC).date()) for e, o in live_orders
    ]:
        first[(source, vendor)] = min(day, first.get((source, vendor), day))
    pays = [("bootstrap", p, p["time"]) for p in map(payment, load_dump(datapack, "payments"))] + [
        ("live", payment(e["payload"]), when(e["event_time"]))
        for e in live
        if e["event_type"] == "payment_succeeded"
    ]
    classes = {"unknown_order_id": 0, "order_before_data_window": 0, "true_orphan": 0}
    for source, p, t in pays:
        if p["status"] != "SUCCESS" or p["order"] in known:
            continue
        start = first.get((source, p["vendor"]))
        if pattern in p["order"]:
            classes["unknown_order_id"] += 1
        elif start is not None and (t.astimezone(UTC).date() - start).days < edge_days:
            classes["order_before_data_window"] += 1
        else:
            classes["true_orphan"] += 1
    return classes


def payments_without_order(datapack) -> int:
    """Successful payments (dumps and first live arrivals) whose order id has no order anywhere."""
    orders = {
        o["order"]
        for o in [order(r) for r in load_dump(datapack, "orders")]
        + [
            order(e["payload"])
            for e in first_arrivals(datapack).values()
            if e["event_type"] == "order_created"
        ]
    }
    pays = [payment(r) for r in load_dump(datapack, "payments")] + [
        payment(e["payload"])
        for e in first_arrivals(datapack).values()
        if e["event_type"] == "payment_succeeded"
    ]
    return sum(1 for p in pays if p["status"] == "SUCCESS" and p["order"] not in orders)
