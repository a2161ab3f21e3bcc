"""A generated marketplace of three vendors written straight into the warehouse's facts: daily
orders with weekday seasonality and a month-end uplift, payments that sometimes fail, USD
payments at a drifting rate, refunds a few days later. Independent of the platform's generator
(its own shapes, its own noise); the KPI tables are then computed by the platform's own SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from commercepulse.warehouse.kpi_catalogue import VENDOR_KPIS
from commercepulse.warehouse.schema import ALL_TABLES

#: Orders per weekday (Monday first) relative to the vendor's base, and the month-end uplift.
WEEKDAY = (1.0, 0.95, 1.0, 1.05, 1.25, 1.4, 0.6)
MONTH_END = 1.45
USD_RATE = 1_500.0


@dataclass(frozen=True)
class Vendor:
    name: str
    orders: float  # a plain Monday's orders
    success: float
    usd_share: float


VENDORS = (
    Vendor("vendor_a", 160, 0.92, 0.0),
    Vendor("vendor_b", 90, 0.88, 0.1),
    Vendor("vendor_c", 120, 0.95, 0.9),
)


def month_end(day: date) -> bool:
    """Salaries land: the last 3 days of a month and the first 2 of the next."""
    to_end = ((day.replace(day=28) + timedelta(days=4)).replace(day=1) - day).days
    return to_end <= 3 or day.day <= 2


@dataclass
class Incident:
    """A change to one vendor's day: fewer successes, a refund wave, a USD rate jump, silence."""

    day: date
    vendor: str
    kind: str  # success_rate | refunds | fx | attempts


def world(seed: int, start: date, days: int, incidents: list[Incident] = ()) -> dict:
    """The facts of `days` days from `start`: fact_orders, fact_payments, fact_refunds. The random
    draws do not depend on the incidents: an incident changes its day and nothing else."""
    rng = np.random.default_rng(seed)
    parts = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        rate = USD_RATE * (1 + 0.002 * offset)
        for vendor in VENDORS:
            hit = {i.kind for i in incidents if i.day == day and i.vendor == vendor.name}
            lam = vendor.orders * WEEKDAY[day.weekday()] * (MONTH_END if month_end(day) else 1)
            n = int(rng.poisson(lam))
            ngn = rng.lognormal(np.log(15_000), 0.5, n).round(2)
            usd = rng.random(n) < vendor.usd_share
            luck, refund_luck = rng.random(n), rng.random(n)
            seconds = rng.integers(0, 86_000, n)
            refund_after = rng.integers(0, 4, n)
            if "attempts" in hit:
                continue
            jump = any(i.day == day and i.kind == "fx" for i in incidents)  # every vendor's USD
            day_rate = rate * (2.5 if jump else 1.0)
            amount = np.where(usd, (ngn / USD_RATE).round(2), ngn)
            parts.append(
                pd.DataFrame(
                    {
                        "order_id": [f"{vendor.name}-{day:%Y%m%d}-{k}" for k in range(n)],
                        "vendor": vendor.name,
                        "order_date": day,
                        "order_time": pd.Timestamp(day) + pd.to_timedelta(seconds, unit="s"),
                        "currency": np.where(usd, "USD", "NGN"),
                        "amount": amount,
                        "amount_ngn": np.where(usd, (amount * day_rate).round(2), amount),
                        "fx_rate": np.where(usd, day_rate, 1.0),
                        "ok": luck < vendor.success * (0.15 if "success_rate" in hit else 1.0),
                        "refund_date": [day + timedelta(days=int(a)) for a in refund_after],
                        "refund_luck": refund_luck,
                    }
                )
            )
    sold = pd.concat(parts, ignore_index=True)
    sold["refunded"] = sold["ok"] & (sold["refund_luck"] < 0.04)
    for wave in (i for i in incidents if i.kind == "refunds"):
        # a refund wave: half of the vendor's paid orders of that day and the five before, that day
        recent = (
            (sold["vendor"] == wave.vendor)
            & sold["ok"]
            & (sold["order_date"] >= wave.day - timedelta(days=5))
            & (sold["order_date"] <= wave.day)
            & (sold["refund_luck"] < 0.5)
        )
        sold.loc[recent, "refunded"] = True
        sold.loc[recent, "refund_date"] = wave.day
    paid_time = sold["order_time"] + pd.Timedelta(seconds=30)
    orders = pd.DataFrame(
        {
            "order_id": sold["order_id"],
            "vendor": sold["vendor"],
            "order_time": sold["order_time"],
            "order_date": sold["order_date"],
            "currency": sold["currency"],
            "total": sold["amount"],
            "total_ngn": sold["amount_ngn"],
            "status": np.where(sold["ok"], "PAID", "CREATED"),
            "first_paid_time": paid_time.where(sold["ok"]),
            "paid_ngn": sold["amount_ngn"].where(sold["ok"], 0.0),
            "refund_count": sold["refunded"].astype(int),
            "has_partial_refund": False,
        }
    )
    payments = pd.DataFrame(
        {
            "event_id": "p-" + sold["order_id"],
            "event_date": sold["order_date"],
            "paid_date": sold["order_date"],
            "paid_time": paid_time,
            "vendor": sold["vendor"],
            "order_id": sold["order_id"],
            "status": np.where(sold["ok"], "SUCCESS", "FAILED"),
            "amount": sold["amount"],
            "currency": sold["currency"],
            "amount_ngn": sold["amount_ngn"],
            "fx_rate": sold["fx_rate"],
            "fx_rate_date": sold["order_date"],
        }
    )
    back = sold[sold["refunded"]]
    refunds = pd.DataFrame(
        {
            "event_id": "r-" + back["order_id"],
            "event_date": back["refund_date"],
            "refund_date": back["refund_date"],
            "refund_time": pd.to_datetime(back["refund_date"]) + pd.Timedelta(hours=12),
            "vendor": back["vendor"],
            "order_id": back["order_id"],
            "amount": back["amount"],
            "currency": back["currency"],
            "amount_ngn": back["amount_ngn"],
            "lists_items": False,
        }
    )
    return {"fact_orders": orders, "fact_payments": payments, "fact_refunds": refunds}


def load(wh, facts: dict) -> None:
    """The facts into the warehouse, then the KPI tables from them by the platform's own SQL."""
    for name, frame in facts.items():
        frame = frame.assign(event_ids="[]", run_id="kpi-world")
        if name == "fact_orders":
            frame["last_event_time"] = frame["order_time"]
        wh.replace_table(name, frame.reindex(columns=ALL_TABLES[name].names))
    for name in ("kpi_daily_revenue", "kpi_vendor_payment_success", "kpi_refund_rate"):
        params = {"run_id": "kpi-world", "reported_at": datetime(2031, 1, 1)}
        wh.execute([(sql, params) for sql in VENDOR_KPIS[name].statements])
