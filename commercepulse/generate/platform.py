"""The platform's own sources (SPEC §9): users, product catalog, order lifecycle, order items
and behavioural events, consistent with the vendor world (same SKUs, the same customer emails).

Files: `OUT/<source>/YYYY-MM-DD.jsonl`, one record per line, in the file of the day the
record was exported (its ingestion day). The data realities are built in on purpose:
shared and differently-spelled emails, profile updates, users who never order, frequent
price changes, category corrections that arrive days late, lifecycle records repeated and
occasionally replayed out of order, cancellations after payment, behavioural events that are
late, duplicated and sometimes anonymous (user null, blank, whitespace or absent); times spelled
`Z`, `+01:00` or naive UTC; order lines re-sent, two lines for one SKU, orders without a
CREATED record and orders known only from their lines. Same seed and arguments => same bytes.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import orjson

from commercepulse.generate.world import (
    DOMAINS,
    SKUS,
    day_start,
    event_id_for,
    rng_for,
    sku_price,
    spell_iso,
)

VENDOR_CUSTOMERS = 2500  # make_order draws vendor customers user0..user2499
N_USERS = 3000  # users 2500.. exist on the platform but never order through a vendor
SHARED_EMAIL_EVERY = (
    23  # platform-only user u (u % 23 == 0) signed up with a vendor customer's email
)
CATEGORIES = ["Phones", "Accessories", "Fashion", "Home", "Beauty", "Groceries", "Computing"]
FIRST_NAMES = [
    "Ada",
    "Chidi",
    "Amina",
    "Tunde",
    "Ngozi",
    "Kofi",
    "Zainab",
    "Emeka",
    "Fatima",
    "Segun",
]
LAST_NAMES = ["Okafor", "Bello", "Adeyemi", "Mensah", "Eze", "Musa", "Olawale", "Abubakar"]
MISCATEGORIZED_EVERY = 19  # these SKUs start in a wrong category and are corrected later


_iso = spell_iso  # `Z`, `+01:00` or naive UTC, as real feeds mix them
#: how an anonymous event's user is sent: null, blank, whitespace or no key at all
ANONYMOUS_SPELLINGS = (None, "", "   ")


def _hash(text: str) -> int:
    return int(hashlib.md5(text.encode()).hexdigest(), 16)


def true_category(sku: str) -> str:
    return CATEGORIES[_hash(sku) % len(CATEGORIES)]


def user_email(u: int) -> str:
    """user{u}@domain, as vendor orders spell it; shared sign-ups use another spelling of another's."""
    if u >= VENDOR_CUSTOMERS and u % SHARED_EMAIL_EVERY == 0:
        base = u - VENDOR_CUSTOMERS
        return f" User{base}@{DOMAINS[base % len(DOMAINS)].upper()}"
    return f"user{u}@{DOMAINS[u % len(DOMAINS)]}"


@dataclass
class _Out:
    """Records per (source, ingestion day), kept in emission order."""

    lines: dict[tuple[str, date], list[dict]] = field(default_factory=lambda: defaultdict(list))

    def add(self, source: str, day: date, record: dict) -> None:
        self.lines[(source, day)].append(record)


def _users(seed: int, start: date, days: int, out: _Out) -> dict[int, datetime]:
    """Export of existing users on day 1, sign-ups and profile updates after; returns created_at."""
    created: dict[int, datetime] = {}
    profiles: dict[int, dict] = {}
    first = day_start(start)
    late_signups = range(N_USERS - 60, N_USERS)  # sign up during the range
    for u in range(N_USERS):
        rng = rng_for(seed, u, "user")
        when = (
            first + timedelta(seconds=rng.randrange(days * 86400))
            if u in late_signups
            else first - timedelta(days=rng.randint(1, 600), seconds=rng.randrange(86400))
        )
        created[u] = when
        profiles[u] = {
            "user_id": f"U-{u:05d}",
            "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "email": user_email(u),
            "phone": f"+23480{u * 7919 % 100000000:08d}",
            "created_at": _iso(when),
            "updated_at": _iso(when),
        }
        out.add("users", when.date() if when >= first else start, dict(profiles[u]))
    for n in range(days):
        day = start + timedelta(days=n)
        rng = rng_for(seed, day.isoformat(), "profile-updates")
        for u in sorted(rng.sample(range(N_USERS - 60), 25)):
            when = day_start(day) + timedelta(seconds=rng.randrange(86400))
            change = rng.choice(["phone", "name"])
            if change == "phone":
                profiles[u]["phone"] = f"+23481{rng.randrange(100000000):08d}"
            else:
                profiles[u]["name"] = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            profiles[u]["updated_at"] = _iso(when)
            out.add("users", day, dict(profiles[u]))
    return created


def _catalog(seed: int, start: date, days: int, out: _Out) -> dict[str, list[tuple[datetime, int]]]:
    """Day-1 catalog export, price changes every day, late category corrections.

    Returns each SKU's price timeline [(valid from, price)] so orders use the price of their time.
    """
    first = day_start(start)
    state: dict[str, dict] = {}
    timeline: dict[str, list[tuple[datetime, int]]] = {}
    corrections: dict[str, datetime] = {}
    for i, sku in enumerate(SKUS):
        rng = rng_for(seed, sku, "product")
        wrong = i % MISCATEGORIZED_EVERY == 0
        category = (
            CATEGORIES[(CATEGORIES.index(true_category(sku)) + 1) % len(CATEGORIES)]
            if wrong
            else true_category(sku)
        )
        when = first - timedelta(days=1)
        state[sku] = {
            "product_id": sku,
            "product_name": f"Product {sku[4:]}",
            "category": category,
            "price": sku_price(sku),
            "available_stock": rng.randint(5, 500),
            "updated_at": _iso(when),
        }
        timeline[sku] = [(when, sku_price(sku))]
        out.add("products", start, dict(state[sku]))
        if wrong and days > 1:  # corrected during the range; the record arrives 1-3 days late
            corrections[sku] = first + timedelta(seconds=rng.randrange((days - 1) * 86400))
    for n in range(days):
        day = start + timedelta(days=n)
        rng = rng_for(seed, day.isoformat(), "catalog")
        changes = [
            (day_start(day) + timedelta(seconds=rng.randrange(86400)), sku, "price")
            for sku in rng.sample(SKUS, len(SKUS) // 10)
        ]
        changes += [(t, sku, "category") for sku, t in corrections.items() if t.date() == day]
        for when, sku, what in sorted(changes):
            record = state[sku]
            if what == "price":
                record["price"] = int(round(sku_price(sku) * rng.uniform(0.8, 1.3) / 50) * 50)
                timeline[sku].append((when, record["price"]))
            else:
                record["category"] = true_category(sku)
            record["available_stock"] = max(0, record["available_stock"] + rng.randint(-20, 30))
            record["updated_at"] = _iso(when)
            late = timedelta(days=rng.randint(1, 3)) if what == "category" else timedelta(0)
            if (when + late).date() < start + timedelta(days=days):
                out.add("products", (when + late).date(), dict(record))
    return timeline


def price_at(timeline: list[tuple[datetime, int]], when: datetime) -> int:
    return [price for since, price in timeline if since <= when][-1]


def _sessions(
    seed: int,
    start: date,
    days: int,
    sessions_per_day: int,
    created: dict[int, datetime],
    prices: dict[str, list[tuple[datetime, int]]],
    out: _Out,
) -> None:
    end = start + timedelta(days=days)

    def emit(source: str, when: datetime, record: dict) -> None:
        if when.date() < end:
            out.add(source, when.date(), record)

    for n in range(days):
        day = start + timedelta(days=n)
        for s in range(sessions_per_day):
            sid = f"S-{day:%y%m%d}-{s:05d}"
            rng = rng_for(seed, sid, "session")
            t = day_start(day) + timedelta(seconds=rng.randrange(86400 - 3600))
            anonymous = rng.random() < 0.15
            u = rng.randrange(N_USERS)
            while created[u] > t:
                u = rng.randrange(N_USERS)
            device = "mobile" if rng.random() < 0.6 else "web"
            steps = ["view"] * rng.randint(1, 4)
            if rng.random() < 0.5:
                steps.append("add_to_cart")
                if rng.random() < 0.6:
                    steps.append("checkout")
            elif rng.random() < 0.05:
                steps.append("checkout")  # skips the cart (buy-now)
            for i, step in enumerate(steps):
                t += timedelta(seconds=rng.randint(10, 300))
                erng = rng_for(seed, sid, i, "event")
                record = {
                    "event_id": event_id_for(seed, sid, i),
                    "session_id": sid,
                    "user_id": erng.choice(ANONYMOUS_SPELLINGS)
                    if anonymous or erng.random() < 0.03
                    else f"U-{u:05d}",
                    "event_type": step,
                    "event_ts": _iso(t),
                    "device_type": device,
                }
                if record["user_id"] is None and erng.random() < 0.3:
                    del record["user_id"]  # the key itself missing
                arrival = t + (
                    timedelta(days=erng.randint(1, 3)) if erng.random() < 0.05 else timedelta(0)
                )
                emit("behaviour_events", arrival, record)
                if erng.random() < 0.03:  # the client re-sends the event, sometimes the next day
                    emit(
                        "behaviour_events",
                        arrival + timedelta(hours=erng.choice([0, 0, 24])),
                        dict(record),
                    )
            if steps[-1] == "checkout" and not anonymous and rng.random() < 0.8:
                _order(seed, sid, u, t + timedelta(minutes=rng.randint(1, 10)), prices, emit)


def _order(
    seed: int,
    sid: str,
    u: int,
    created: datetime,
    prices: dict[str, list[tuple[datetime, int]]],
    emit,
) -> None:
    """An order's lines and lifecycle, with the realities of the feed: lines re-sent as exact copies,
    two lines for one SKU, orders whose CREATED record never comes, and orders known only from lines."""
    oid = "PO-" + sid[2:]
    rng = rng_for(seed, oid, "platform-order")
    lines = [
        {
            "order_id": oid,
            "product_id": sku,
            "quantity": rng.choice([1, 1, 2]),
            "unit_price": price_at(prices[sku], created),
            "created_at": _iso(created),
        }
        for sku in rng.sample(SKUS, rng.randint(1, 3))
    ]
    if rng.random() < 0.03:  # the same SKU again on another line (another quantity)
        lines.append({**lines[0], "quantity": lines[0]["quantity"] + 1})
    for line in lines:
        emit("order_items", created, line)
        if rng.random() < 0.03:  # an exact copy re-sent a few minutes later
            emit("order_items", created + timedelta(minutes=5), dict(line))
    if rng.random() < 0.01:  # known only from its lines: no lifecycle record ever arrives
        return
    statuses = [] if rng.random() < 0.03 else [("CREATED", created)]  # CREATED never sent
    paid = created + timedelta(minutes=rng.randint(1, 30))
    if rng.random() < 0.85:
        statuses.append(("PAID", paid))
        if rng.random() < 0.08:
            statuses.append(
                ("CANCELLED", paid + timedelta(hours=rng.randint(1, 12)))
            )  # after payment
        elif rng.random() < 0.8:
            shipped = paid + timedelta(hours=rng.randint(1, 48))
            statuses.append(("SHIPPED", shipped))
            if rng.random() < 0.03:  # a stale PAID replayed after shipping: status goes backwards
                statuses.append(("PAID", shipped + timedelta(minutes=1)))
    elif rng.random() < 0.5:
        statuses.append(("CANCELLED", created + timedelta(hours=rng.randint(1, 24))))
    for status, when in statuses:
        user = (
            f"U-{u:05d}" if rng.random() >= 0.02 else rng.choice(["", " "])
        )  # a blank user on one record
        record = {"order_id": oid, "user_id": user, "status": status, "status_ts": _iso(when)}
        emit("orders", when, record)
        if rng.random() < 0.05:
            emit("orders", when + timedelta(minutes=5), dict(record))


def write_platform(
    out: Path, start: date, days: int = 1, seed: int = 42, sessions_per_day: int = 300
) -> list[Path]:
    """Write `out/<source>/YYYY-MM-DD.jsonl` for every source and day (a file per pair with records)."""
    records = _Out()
    created = _users(seed, start, days, records)
    prices = _catalog(seed, start, days, records)
    _sessions(seed, start, days, sessions_per_day, created, prices, records)
    written = []
    for (source, day), rows in sorted(records.lines.items()):
        folder = out / source
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{day.isoformat()}.jsonl"
        path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
        written.append(path)
    return written
