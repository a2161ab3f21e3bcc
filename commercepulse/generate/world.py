"""A deterministic simulated marketplace: orders and their whole lifecycle.

Every order's lifecycle (payment attempts, refunds, shipment statuses, updates) is drawn
from an RNG seeded by (seed, order id), and every event's ingestion delay from one seeded
by its event id. So a day's file is a pure function of (seed, day, rates): generating day D
alone or inside a year gives the same bytes, and later days pay, refund and ship earlier
days' orders (the order pool is the previous days' orders, recomputed, not stored).
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

SKUS = [f"SKU-{i:04d}" for i in range(220)]
PRICE_POINTS = [
    1500,
    2000,
    2500,
    2700,
    3000,
    4000,
    4200,
    5000,
    6500,
    6700,
    9000,
    12000,
    18000,
    25500,
    26000,
]
REGIONS = ["Lagos", "Abuja", "Kano", "Kaduna", "PH", "Ibadan", "Enugu"]
METHODS = ["card", "ussd", "bank_transfer"]
REASONS = ["damaged", "customer_request", "duplicate", "not_delivered"]
CHANGES = ["address_change", "phone_change", "qty_change"]
DOMAINS = ["pulse.africa", "example.com", "mail.com"]
SHIP_STATUSES = ["CREATED", "PICKED_UP", "IN_TRANSIT", "DELIVERED"]
VENDORS = ["vendor_a", "vendor_b", "vendor_c"]
EVENTS_PER_ORDER = 3.95  # mean live events per order lifecycle (calibrates --events)


def sku_price(sku: str) -> int:
    return PRICE_POINTS[int(hashlib.md5(sku.encode()).hexdigest(), 16) % len(PRICE_POINTS)]


def usd_ngn(day: date) -> float:
    """The simulated USDNGN rate of a day (also written as the FX file)."""
    return float(
        round(900 + 80 * math.sin(day.toordinal() / 23.0) + 15 * math.cos(day.toordinal() / 5.0))
    )


WAT = timezone(timedelta(hours=1))  # West Africa Time, where our vendors sit


def spell_iso(t: datetime) -> str:
    """An instant as feeds send ISO times: `Z`, West Africa's `+01:00`, or naive UTC, in turn
    (chosen by the instant, so a re-sent copy is spelled like its original)."""
    kind = int(t.timestamp()) % 3
    if kind == 0:
        return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == 1:
        return t.astimezone(WAT).strftime("%Y-%m-%dT%H:%M:%S+01:00")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def rng_for(*parts: object) -> random.Random:
    return random.Random(hashlib.sha256(":".join(map(str, parts)).encode()).digest())


def event_id_for(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:12]


@dataclass
class Event:
    """A canonical lifecycle event before the vendor writes it."""

    event_type: str
    vendor: str
    time: datetime
    body: dict
    key: str  # stable identity of this event within the world (for its id and RNG)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def make_order(
    seed: int, order_id: str, when: datetime, vendor: str, n_customers: int = 2500
) -> dict:
    rng = rng_for(seed, order_id, "order")
    user = rng.randrange(n_customers)
    items = [
        {"sku": sku, "qty": rng.choice([1, 1, 1, 2, 3]), "price": sku_price(sku)}
        for sku in rng.sample(SKUS, rng.randint(1, 4))
    ]
    ngn_total = sum(i["qty"] * i["price"] for i in items) + (500 if rng.random() < 0.04 else 0)
    currency = "USD" if rng.random() < 0.07 else "NGN"
    total = round(ngn_total / usd_ngn(when.date()), 2) if currency == "USD" else ngn_total
    return {
        "order_id": order_id,
        "vendor": vendor,
        "time": when,
        "customer_id": f"CUST-{user:05d}" if rng.random() < 0.6 else None,
        "email": f"user{user}@{DOMAINS[user % len(DOMAINS)]}",
        "phone": f"+23480{user * 7919 % 100000000:08d}",
        "region": rng.choice(REGIONS),
        "address_line": f"{rng.randint(1, 200)} {rng.choice(REGIONS)} Rd",
        "items": items,
        "currency": currency,
        "total": total,
    }


def lifecycle(seed: int, order: dict, unknown_rate: float = 0.02) -> list[Event]:
    """Every event an order produces, with its true event time."""
    rng = rng_for(seed, order["order_id"], "life")
    vendor, oid, t0 = order["vendor"], order["order_id"], order["time"]
    events = [Event("order_created", vendor, t0, order, f"{oid}:created")]
    if rng.random() < 0.15:
        t = t0 + timedelta(minutes=rng.randint(5, 600))
        events.append(
            Event(
                "order_updated",
                vendor,
                t,
                {
                    "order_id": oid,
                    "time": t,
                    "change": rng.choice(CHANGES),
                    "notes": rng.choice(["customer requested update", "legacy update"]),
                },
                f"{oid}:update",
            )
        )
    if rng.random() < 0.85:
        paid = t0 + timedelta(minutes=rng.randint(1, 2 * 24 * 60))
        amount = order["total"]
        pay = {
            "order_id": oid,
            "time": paid,
            "status": "SUCCESS",
            "amount": amount,
            "currency": order["currency"],
            "method": rng.choice(METHODS),
            "tx": _tx(vendor, rng),
        }
        events.append(Event("payment_succeeded", vendor, paid, pay, f"{oid}:pay"))
        if rng.random() < 0.8:
            history_start = paid + timedelta(hours=rng.randint(1, 20))
            tracking = _tracking(vendor, rng)
            for n, status in enumerate(SHIP_STATUSES[: rng.randint(1, 4)]):
                t = history_start + timedelta(hours=n * rng.randint(6, 30))
                events.append(
                    Event(
                        "shipment_updated",
                        vendor,
                        t,
                        {"order_id": oid, "tracking": tracking, "status": status, "time": t},
                        f"{oid}:ship{n}",
                    )
                )
        if rng.random() < 0.2:
            t = paid + timedelta(hours=rng.randint(2, 120))
            partial = rng.random() < 0.6 and len(order["items"]) > 1
            items = None
            ngn = sum(i["qty"] * i["price"] for i in order["items"])
            refund_ngn = ngn
            if partial:
                chosen = order["items"][:1]
                items = [
                    {"sku": i["sku"], "qty": i["qty"], "amount": i["qty"] * i["price"]}
                    for i in chosen
                ]
                refund_ngn = sum(i["amount"] for i in items)
            amount = (
                round(refund_ngn / usd_ngn(t0.date()), 2)
                if order["currency"] == "USD"
                else refund_ngn
            )
            events.append(
                Event(
                    "refund_issued",
                    vendor,
                    t,
                    {
                        "order_id": oid,
                        "time": t,
                        "amount": amount,
                        "currency": order["currency"],
                        "reason": rng.choice(REASONS),
                        "items": items,
                    },
                    f"{oid}:refund",
                )
            )
    if rng.random() < unknown_rate:
        t = t0 + timedelta(minutes=rng.randint(1, 600))
        ghost = f"ORD-UNKNOWN-{int(hashlib.md5(oid.encode()).hexdigest(), 16) % 100000:05d}"
        events.append(
            Event(
                "payment_succeeded",
                vendor,
                t,
                {
                    "order_id": ghost,
                    "time": t,
                    "status": "SUCCESS",
                    "amount": 5000,
                    "currency": "NGN",
                    "method": rng.choice(METHODS),
                    "tx": _tx(vendor, rng),
                },
                f"{oid}:ghostpay",
            )
        )
    return events


def _tx(vendor: str, rng: random.Random) -> str:
    if vendor == "vendor_a":
        return f"TX-{rng.getrandbits(48):012x}"
    if vendor == "vendor_b":
        return f"{rng.getrandbits(48):012x}"
    return f"TRX{rng.randint(100000, 999999)}"  # vendor_c draws refs at random: not unique


def _tracking(vendor: str, rng: random.Random) -> str:
    if vendor == "vendor_a":
        return f"TRK-{rng.getrandbits(48):012x}"
    if vendor == "vendor_b":
        return f"TRK{rng.randint(1000000, 9999999)}"
    return str(rng.randint(100000000, 999999999))


def orders_of_day(seed: int, day: date, n_orders: int) -> list[dict]:
    """The day's orders; ids carry the seed (ORD-YYMMDD-<seed><n:05d>), so another seed's days never
    reuse this world's order ids with other amounts."""
    rng = rng_for(seed, day.isoformat(), "day")
    prefix = day.strftime("ORD-%y%m%d-") + str(seed)
    start = day_start(day)
    return [
        make_order(
            seed,
            f"{prefix}{n + 1:05d}",
            start + timedelta(seconds=rng.randrange(86400)),
            rng.choice(VENDORS),
        )
        for n in range(n_orders)
    ]
