"""Properties that must hold for any feed, whoever wrote it (hypothesis).

The events are written here from SPEC §2.3's tables, not by `commercepulse generate`: the
oracle is the property (two equivalent feeds give the same warehouse), never our generator.
- the same instants spelled `Z`, `+01:00`, other offsets, naive UTC, the vendor formats or
  epoch seconds give an identical warehouse;
- permuting arrival order, splitting the events into other day files, or repeating lines in a
  later file leave facts and KPIs identical;
- blank, whitespace, missing and null ids are one and the same (no id);
- adding another vendor's events changes no figure of the first vendor;
- scaling every amount by k scales every money figure by k.
Each world is landed, staged and modelled through the library (`worlds.py`), as the jobs do.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commercepulse.lib.timeparse import parse_time, parse_times
from commercepulse.raw.live import ingest_live
from commercepulse_tests.worlds import PLATFORM_TABLES, VENDOR_TABLES, assert_same_tables, world

EXAMPLES = settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
VENDORS = ("vendor_a", "vendor_b", "vendor_c")
T0 = datetime(2025, 1, 10, tzinfo=UTC)
SKUS = ("SKU-1", "SKU-2", "SKU-3", "SKU-4")
#: Which columns depend on the ingestion day (lines split into other day files change them).
INGESTION_COLUMNS = {"ingested_at", "is_late"}


# -- time spellings -----------------------------------------------------------------------------------
def spell(t: datetime, how: str):
    """One instant (whole minutes) in one of the spellings feeds use."""
    if how == "epoch":
        return int(t.timestamp())
    if how == "epoch_text":
        return str(int(t.timestamp()))
    if how == "minute":
        return t.strftime("%Y-%m-%d %H:%M")
    if how == "slash":
        return t.strftime("%Y/%m/%d %H:%M:%S")
    if how == "naive":
        return t.strftime("%Y-%m-%dT%H:%M:%S")
    if how == "Z":
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    hours, minutes = {"+01:00": (1, 0), "-05:00": (-5, 0), "+05:30": (5, 30), "+00:00": (0, 0)}[how]
    return t.astimezone(timezone(timedelta(hours=hours, minutes=minutes))).isoformat()


PAYLOAD_SPELLINGS = [
    "Z",
    "+01:00",
    "-05:00",
    "+05:30",
    "+00:00",
    "naive",
    "minute",
    "slash",
    "epoch",
    "epoch_text",
]
ENVELOPE_SPELLINGS = [
    "Z",
    "+01:00",
    "-05:00",
    "+05:30",
    "naive",
    "minute",
]  # the envelope is ISO (SPEC §2.2)


# -- a feed written from SPEC §2.3 --------------------------------------------------------------------
@dataclass
class Order:
    vendor: str
    order_id: str
    time: datetime
    customer: str | None
    email: str
    currency: str
    items: list[tuple[str, int, int]]  # sku, qty, unit price (NGN)
    payments: list[tuple[datetime, str, float]] = field(
        default_factory=list
    )  # time, status, amount
    refunds: list[tuple[datetime, float]] = field(default_factory=list)


def _payload(
    kind: str,
    o: Order,
    t,
    n: int = 0,
    amount: float = 0.0,
    status: str = "SUCCESS",
    blank_customer=None,
    scale: float = 1.0,
) -> dict:
    total = sum(q * p for _, q, p in o.items)
    total = (round(total / 1500, 2) if o.currency == "USD" else total) * scale
    o = replace(o, items=[(s, q, p * scale) for s, q, p in o.items])
    cust = o.customer if o.customer is not None else blank_customer
    if kind == "order_created":
        if o.vendor == "vendor_a":
            who = {"email": o.email, **({} if cust is ... else {"id": cust})}
            return {
                "orderRef": o.order_id,
                "created": t,
                "customer": who,
                "total": total,
                "currency": o.currency,
                "region": "Lagos",
                "items": [{"sku": s, "qty": q, "price": p} for s, q, p in o.items],
            }
        if o.vendor == "vendor_b":
            body = {
                "order_id": o.order_id,
                "created_at": t,
                "buyerEmail": o.email,
                "totalAmount": total,
                "currencyCode": o.currency,
                "state": "Kano",
                "line_items": [{"sku": s, "quantity": q, "unit_price": p} for s, q, p in o.items],
            }
            return body if cust is ... else {**body, "customerId": cust}
        body = {
            "order": {"id": o.order_id, "ts": t},
            "email": o.email,
            "amount": total,
            "ccy": o.currency,
            "geo": {"region": "Abuja"},
            "items": [{"sku": s, "qty": q, "price": p} for s, q, p in o.items],
        }
        return body if cust is ... else {**body, "cust_id": cust}
    if kind == "payment_succeeded":
        ref = f"TX-{o.order_id}-{n}"
        return {
            "vendor_a": {
                "orderRef": o.order_id,
                "paidAt": t,
                "status": status,
                "amount": amount,
                "currency": o.currency,
                "method": "card",
                "txRef": ref,
            },
            "vendor_b": {
                "order_id": o.order_id,
                "paid_at": t,
                "payment_status": status,
                "amountPaid": amount,
                "currencyCode": o.currency,
                "channel": "ussd",
                "transaction_id": ref,
            },
            "vendor_c": {
                "order": o.order_id,
                "timestamp": t,
                "state": status,
                "amt": amount,
                "ccy": o.currency,
                "paymentMethod": "card",
                "txn": ref,
            },
        }[o.vendor]
    return {
        "vendor_a": {
            "orderRef": o.order_id,
            "refundedAt": t,
            "amount": amount,
            "currency": o.currency,
            "reason": "damaged",
        },
        "vendor_b": {
            "order_id": o.order_id,
            "refunded_at": t,
            "refundAmount": amount,
            "currencyCode": o.currency,
            "refund_reason": "damaged",
        },
        "vendor_c": {
            "order": o.order_id,
            "ts": t,
            "amt": amount,
            "ccy": o.currency,
            "reason": "damaged",
        },
    }[o.vendor]


@dataclass(frozen=True)
class Spelling:
    """How a feed writes what it sends: time spellings (per event), blank customer ids, amount scale."""

    payload: tuple[str, ...] = ("Z",)
    envelope: tuple[str, ...] = ("Z",)
    blank_customer: object = (
        ...
    )  # ... = no key at all; else None, "", "  " (all mean: no customer id)
    scale: float = 1.0


def events(orders: list[Order], how: Spelling = Spelling()) -> list[dict]:
    """Each order's lifecycle as live events (one per order, payment, refund), ingested 2 h after."""
    out = []
    n = 0

    def add(kind: str, o: Order, when: datetime, key: str, **extra) -> None:
        nonlocal n
        pt, et = how.payload[n % len(how.payload)], how.envelope[n % len(how.envelope)]
        n += 1
        out.append(
            {
                "event_id": f"{o.vendor}-{key}",
                "event_type": kind,
                "event_time": spell(when, et),
                "vendor": o.vendor,
                "ingested_at": spell(when + timedelta(hours=2), et),
                "payload": _payload(
                    kind, o, spell(when, pt), blank_customer=how.blank_customer, **extra
                ),
            }
        )

    for o in orders:
        add("order_created", o, o.time, f"{o.order_id}-c", scale=how.scale)
        for i, (t, status, amount) in enumerate(o.payments):
            add(
                "payment_succeeded",
                o,
                t,
                f"{o.order_id}-p{i}",
                n=i,
                amount=amount * how.scale,
                status=status,
            )
        for i, (t, amount) in enumerate(o.refunds):
            add("refund_issued", o, t, f"{o.order_id}-r{i}", amount=amount * how.scale)
    return out


@st.composite
def orders_of(draw, vendors=VENDORS, prefix: str = "O") -> list[Order]:
    """A few orders per vendor over four days, paid (or failing), sometimes refunded, minutes exact."""
    out = []
    for v in vendors:
        for k in range(draw(st.integers(1, 4))):
            t = T0 + timedelta(minutes=draw(st.integers(0, 4 * 1440 - 1)))
            items = [
                (
                    draw(st.sampled_from(SKUS)),
                    draw(st.integers(1, 3)),
                    draw(st.sampled_from([500, 1200, 2500])),
                )
                for _ in range(draw(st.integers(1, 3)))
            ]
            # the same order ids at every vendor: facts are keyed by (vendor, order)
            o = Order(
                v,
                f"{prefix}-{k}",
                t,
                draw(st.sampled_from([None, f"C-{k}"])),
                f"c{k}@x.ng",
                draw(st.sampled_from(["NGN", "NGN", "USD"])),
                items,
            )
            total = sum(q * p for _, q, p in items) / (1500 if o.currency == "USD" else 1)
            paid_at = t + timedelta(minutes=draw(st.integers(1, 3000)))
            if draw(st.booleans()):
                o.payments.append((paid_at - timedelta(minutes=1), "FAILED", round(total, 2)))
            if draw(st.integers(0, 3)):
                o.payments.append((paid_at, "SUCCESS", round(total, 2)))
                if draw(st.booleans()):
                    o.refunds.append(
                        (
                            paid_at + timedelta(minutes=draw(st.integers(1, 3000))),
                            round(total * draw(st.sampled_from([0.25, 0.5, 1.0])), 2),
                        )
                    )
            out.append(o)
    return out


def vendor_tables(mongo_uri, home, days: dict[str, list]) -> dict[str, pd.DataFrame]:
    with world(mongo_uri, home) as w:
        for day, lines in days.items():
            w.live_day(day, lines)
        w.build_vendor()
        return w.tables(VENDOR_TABLES)


def one_file(lines: list) -> dict[str, list]:
    return {"2025-01-15": lines}


@pytest.fixture
def feed_env(mongo_uri, mongo_home):
    return mongo_uri, mongo_home


# -- the time rule itself ---------------------------------------------------------------------------
@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(PAYLOAD_SPELLINGS)),
        min_size=1,
        max_size=30,
    ),
    st.randoms(use_true_random=False),
)
@settings(max_examples=200, deadline=None)
def test_a_time_means_the_same_instant_whatever_its_spelling_neighbours_or_order(values, rng):
    instants = [T0 + timedelta(minutes=m) for m, _ in values]
    spelled = [spell(t, how) for t, (_, how) in zip(instants, values)]
    assert parse_times(spelled).tolist() == [pd.Timestamp(t) for t in instants]
    order = list(range(len(spelled)))
    rng.shuffle(order)
    assert parse_times([spelled[i] for i in order]).tolist() == [
        pd.Timestamp(instants[i]) for i in order
    ]
    assert [parse_time(v) for v in spelled] == instants


# -- vendor feeds -----------------------------------------------------------------------------------
@given(orders_of(), st.permutations(PAYLOAD_SPELLINGS), st.permutations(ENVELOPE_SPELLINGS))
@EXAMPLES
def test_time_spellings_give_an_identical_warehouse(feed_env, orders, payload, envelope):
    plain = vendor_tables(*feed_env, one_file(events(orders)))
    respelled = vendor_tables(
        *feed_env, one_file(events(orders, Spelling(tuple(payload), tuple(envelope))))
    )
    assert_same_tables(plain, respelled)
    assert len(plain["fact_orders"]) == len(orders)


@given(orders_of(), st.randoms(use_true_random=False), st.integers(1, 3), st.floats(0, 0.5))
@EXAMPLES
def test_arrival_order_file_split_and_repeated_lines_leave_facts_and_kpis_identical(
    feed_env, orders, rng, files, repeat_share
):
    lines = events(orders, Spelling(("+01:00", "naive", "epoch"), ("+01:00", "Z")))
    plain = vendor_tables(*feed_env, one_file(lines))
    shuffled = lines[:]
    rng.shuffle(shuffled)
    days = {f"2025-01-{15 + i:02d}": shuffled[i::files] for i in range(files)}
    repeats = [line for line in lines if rng.random() < repeat_share]
    days["2025-01-20"] = days.get("2025-01-20", []) + repeats  # repeated in a later file
    split = vendor_tables(*feed_env, days)
    assert_same_tables(plain, split)


@given(orders_of(), st.sampled_from([None, "", "   ", "\t"]))
@EXAMPLES
def test_blank_whitespace_missing_and_null_customer_ids_are_the_same(feed_env, orders, blank):
    anonymous = [replace(o, customer=None) for o in orders]
    missing = vendor_tables(*feed_env, one_file(events(anonymous)))
    spelled = vendor_tables(*feed_env, one_file(events(anonymous, Spelling(blank_customer=blank))))
    assert_same_tables(missing, spelled)
    # the customer key falls back to the email, never to a blank id (a keyed hash of it: these
    # worlds stage with an empty salt)
    assert set(missing["fact_orders"]["customer_key"]) == {
        "ck_" + hmac.new(b"", f"email:{o.email.lower()}".encode(), hashlib.sha256).hexdigest()[:20]
        for o in anonymous
    }


VENDOR_KEYED = (
    "fact_orders",
    "fact_payments",
    "fact_refunds",
    "fact_order_daily",
    "kpi_vendor_payment_success",
    "kpi_order_to_payment",
    "kpi_aov",
)


@given(orders_of(vendors=("vendor_a",)), orders_of(vendors=("vendor_b", "vendor_c")))
@EXAMPLES
def test_another_vendors_events_change_no_figure_of_the_first(feed_env, mine, others):
    alone = vendor_tables(*feed_env, one_file(events(mine)))
    together = vendor_tables(*feed_env, one_file(events(mine + others)))
    for name in VENDOR_KEYED:
        a = alone[name][alone[name]["vendor"] == "vendor_a"].reset_index(drop=True)
        b = together[name][together[name]["vendor"] == "vendor_a"].reset_index(drop=True)
        assert_same_tables({name: a}, {name: b})


MONEY = {
    "kpi_daily_revenue": ["gross_revenue_ngn", "refunds_ngn", "net_revenue_ngn"],
    "kpi_aov": ["gross_revenue_ngn", "refunds_ngn", "net_revenue_ngn", "aov_ngn", "net_aov_ngn"],
    "fact_order_daily": None,
    "kpi_top_products": ["revenue_ngn"],
}


@given(orders_of(), st.sampled_from([2, 3, 10, 0.5]))
@EXAMPLES
def test_scaling_every_amount_by_k_scales_every_money_kpi_by_k(feed_env, orders, k):
    base = vendor_tables(*feed_env, one_file(events(orders)))
    scaled = vendor_tables(*feed_env, one_file(events(orders, Spelling(scale=k))))
    for name, columns in MONEY.items():
        a, b = base[name], scaled[name]
        columns = columns or [c for c in a.columns if c.endswith("_ngn")]
        assert len(a) == len(b)
        for column in columns:
            want = (a[column] * k).round(2)
            assert (
                ((b[column] - want).abs() <= 0.011 * max(k, 1)).where(a[column].notna(), True).all()
            ), (name, column)
    assert (
        scaled["kpi_refund_rate"]["refund_rate"].tolist()
        == base["kpi_refund_rate"]["refund_rate"].tolist()
    )


def test_an_offset_event_lands_on_its_utc_business_day(db, tmp_path):
    path = tmp_path / "2025-03-25" / "events.jsonl"
    path.parent.mkdir()
    path.write_text(
        '{"event_id": "e1", "event_type": "x", "event_time": "2025-03-25T00:30:00+01:00", '
        '"vendor": "vendor_a", "payload": {}, "ingested_at": "2025-03-25T01:00:00+01:00"}\n'
    )
    stats = ingest_live(db, [path])
    assert sorted(stats.business_days) == ["2025-03-24"]
    stored = db["events_raw"].find_one({"_id": "e1"})
    assert stored["event_time"].replace(tzinfo=UTC) == datetime(2025, 3, 24, 23, 30, tzinfo=UTC)


# -- platform sources ---------------------------------------------------------------------------------
@dataclass
class Platform:
    """Platform records (SPEC §9) with their times as instants, spelled at write time."""

    products: list[dict]
    orders: list[dict]
    items: list[dict]
    events: list[dict]

    def records(self, how: tuple[str, ...] = ("Z",), blank=None) -> dict[str, list[dict]]:
        n = iter(range(10**6))

        def s(t: datetime):
            return spell(t, how[next(n) % len(how)])

        def user(value):
            return value if value is not None else blank

        def drop_missing(record: dict) -> dict:
            return {k: v for k, v in record.items() if v is not ...}

        return {
            "products": [{**p, "updated_at": s(p["updated_at"])} for p in self.products],
            "orders": [
                drop_missing({**o, "user_id": user(o["user_id"]), "status_ts": s(o["status_ts"])})
                for o in self.orders
            ],
            "order_items": [{**i, "created_at": s(i["created_at"])} for i in self.items],
            "behaviour_events": [
                drop_missing({**e, "user_id": user(e["user_id"]), "event_ts": s(e["event_ts"])})
                for e in self.events
            ],
        }


@st.composite
def platforms(draw) -> Platform:
    minute = st.integers(0, 3 * 1440 - 1)
    products = []
    for sku in SKUS:  # price changes at distinct instants
        for m in sorted(set(draw(st.lists(minute, min_size=1, max_size=3)))):
            products.append(
                {
                    "product_id": sku,
                    "product_name": sku,
                    "category": "Home",
                    "price": draw(st.sampled_from([900, 1000, 1100])),
                    "updated_at": T0 + timedelta(minutes=m),
                }
            )
    orders, items, events = [], [], []
    for s in range(draw(st.integers(1, 6))):
        user = draw(st.sampled_from([None, "U-1", "U-2"]))
        start = T0 + timedelta(minutes=draw(minute))
        steps = draw(
            st.lists(st.sampled_from(["view", "add_to_cart", "checkout"]), min_size=1, max_size=4)
        )
        for i, step in enumerate(steps):
            events.append(
                {
                    "event_id": f"E-{s}-{i}",
                    "session_id": f"S-{s}",
                    "user_id": user,
                    "event_type": step,
                    "event_ts": start + timedelta(minutes=2 * i),
                    "device_type": draw(st.sampled_from(["web", "mobile"])),
                }
            )
        if user and draw(st.booleans()):
            created = start + timedelta(minutes=2 * len(steps) + draw(st.integers(-3, 20)))
            oid = f"PO-{s}"
            for j in range(draw(st.integers(1, 3))):
                items.append(
                    {
                        "order_id": oid,
                        "product_id": draw(st.sampled_from(SKUS)),
                        "quantity": j + 1,
                        "unit_price": draw(st.sampled_from([900, 1000])),
                        "created_at": created,
                    }
                )
            lifecycle = [("CREATED", created), ("PAID", created + timedelta(minutes=3))]
            for status, t in lifecycle[draw(st.integers(0, 1)) :]:  # sometimes no CREATED record
                orders.append({"order_id": oid, "user_id": user, "status": status, "status_ts": t})
    return Platform(products, orders, items, events)


def platform_tables(mongo_uri, home, days: dict[str, dict[str, list]]) -> dict[str, pd.DataFrame]:
    with world(mongo_uri, home) as w:
        for day, sources in days.items():
            for source, records in sources.items():
                if records:
                    w.platform_day(source, day, records)
        w.build_platform()
        # which copy came first and on which day is provenance, not content
        return w.tables(
            PLATFORM_TABLES, drop={"copies", "duplicate_records", "first_ingestion_day", "is_late"}
        )


@given(platforms(), st.permutations(PAYLOAD_SPELLINGS))
@EXAMPLES
def test_platform_time_spellings_give_an_identical_warehouse(feed_env, platform, how):
    plain = platform_tables(*feed_env, {"2025-01-13": platform.records()})
    respelled = platform_tables(*feed_env, {"2025-01-13": platform.records(tuple(how))})
    assert_same_tables(plain, respelled)


@given(
    platforms(),
    st.randoms(use_true_random=False),
    st.integers(1, 3),
    st.floats(0, 0.5),
    st.sampled_from([None, "", "   ", ...]),
)
@EXAMPLES
def test_platform_arrival_order_split_repeats_and_blank_users_leave_silver_and_gold_identical(
    feed_env, platform, rng, files, repeat_share, blank
):
    plain = platform_tables(*feed_env, {"2025-01-13": platform.records(("+01:00", "naive"))})
    days: dict[str, dict[str, list]] = {f"2025-01-{13 + i:02d}": {} for i in range(files + 1)}
    for source, records in platform.records(("+01:00", "naive"), blank=blank).items():
        shuffled = records[:]
        rng.shuffle(shuffled)
        for i in range(files):
            days[f"2025-01-{13 + i:02d}"][source] = shuffled[i::files]
        days[f"2025-01-{13 + files:02d}"][source] = [
            r for r in records if rng.random() < repeat_share
        ]
    split = platform_tables(*feed_env, days)
    assert_same_tables(plain, split)
