"""How each vendor writes a canonical record (the inverse of `commercepulse.vendors.mapping`).

Each writer takes canonical values and a `drift` flag and returns the vendor payload in the
base or the drifted spelling observed in the real stream (SPEC §2.3). Everything is
table-driven by vendor so generated shapes stay exactly those the mapping describes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from commercepulse.generate.world import spell_iso


def _naive_iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _minute(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _slash(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y/%m/%d %H:%M:%S")


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


def order_a(o: dict, drift: bool, full: bool = False) -> dict:
    """Live orders carry fewer fields than dump orders (`full`), as in the real sample."""
    who = (
        {"id": o["customer_id"], "email": o["email"], "phone": o["phone"]}
        if full
        else {"email": o["email"]}
    )
    body: dict[str, Any] = {"orderRef": o["order_id"], "created": _minute(o["time"])}
    body["buyer" if drift else "customer"] = who
    body["totalAmount" if drift else "total"] = o["total"]
    body.update(
        {
            "currency": o["currency"],
            "region": o["region"],
            "items": [{"sku": i["sku"], "qty": i["qty"], "price": i["price"]} for i in o["items"]],
        }
    )
    if full:
        body["shippingAddress"] = o["address_line"]
    return body


def order_b(o: dict, drift: bool, full: bool = False) -> dict:
    body: dict[str, Any] = {
        "order_id": o["order_id"],
        "created_at": spell_iso(o["time"]),
        "buyerEmail": o["email"],
        "totalAmount": o["total"],
        "currency" if drift else "currencyCode": o["currency"],
        "state": o["region"],
        "line_items": [
            {"sku": i["sku"], "quantity": i["qty"], "unit_price": i["price"]} for i in o["items"]
        ],
    }
    if full:
        body.update(
            {
                "buyerPhone": o["phone"],
                "customerId": o["customer_id"],
                "address": {"line1": o["address_line"], "city": o["region"], "country": "NG"},
            }
        )
    return body


def order_c(o: dict, drift: bool, full: bool = False) -> dict:
    body: dict[str, Any] = {
        "order": {"id": o["order_id"], "ts": _epoch(o["time"])},
        "email": o["email"],
        "amount": o["total"],
        "ccy": o["currency"],
        "geo": {"region": o["region"]},
        "items": [
            {
                "sku" if drift or full else "productSku": i["sku"],
                "qty": i["qty"],
                "price": i["price"],
            }
            for i in o["items"]
        ],
    }
    if full:
        body.update(
            {
                "phone": o["phone"],
                "cust_id": o["customer_id"],
                "shipping": {"address": {"line1": o["address_line"], "city": o["region"]}},
            }
        )
    return body


def payment_a(p: dict, drift: bool) -> dict:
    return {
        "orderRef": p["order_id"],
        "paidAt": _slash(p["time"]),
        "payment_status" if drift else "status": p["status"],
        "amount": p["amount"],
        "currency": p["currency"],
        "method": p["method"],
        "txRef": p["tx"],
    }


def payment_b(p: dict, drift: bool) -> dict:
    return {
        "order_id": p["order_id"],
        "paid_at": spell_iso(p["time"]),
        "payment_status": p["status"],
        "amount_paid" if drift else "amountPaid": p["amount"],
        "currencyCode": p["currency"],
        "channel": p["method"],
        "transaction_id": p["tx"],
    }


def payment_c(p: dict, drift: bool) -> dict:
    return {
        "order": p["order_id"],
        "timestamp": _epoch(p["time"]),
        "payment_state" if drift else "state": p["status"],
        "amt": p["amount"],
        "ccy": p["currency"],
        "paymentMethod": p["method"],
        "txn": p["tx"],
    }


def refund_a(r: dict, drift: bool) -> dict:
    return {
        "orderRef": r["order_id"],
        "refundedAt": _naive_iso(r["time"]),
        "amount": r["amount"],
        "currency": r["currency"],
        "reason": r["reason"],
        "refunded_items" if drift else "items": r["items"],
    }


def refund_b(r: dict, drift: bool) -> dict:
    return {
        "order_id": r["order_id"],
        "refunded_at": spell_iso(r["time"]),
        "refundAmount": r["amount"],
        "currencyCode": r["currency"],
        "reason" if drift else "refund_reason": r["reason"],
        "refunded_items": r["items"],
    }


def refund_c(r: dict, drift: bool) -> dict:
    return {
        "order": r["order_id"],
        "ts": _epoch(r["time"]),
        "amt": r["amount"],
        "ccy": r["currency"],
        "reason": r["reason"],
        "items" if drift else "items_refunded": r["items"],
    }


def shipment_a(s: dict, drift: bool) -> dict:
    return {
        "orderRef": s["order_id"],
        "tracking": s["tracking"],
        "status": s["status"],
        "update_time" if drift else "updateTime": spell_iso(s["time"]),
    }


def shipment_b(s: dict, drift: bool) -> dict:
    return {
        "order_id": s["order_id"],
        "tracking_code": s["tracking"],
        "status" if drift else "shipment_status": s["status"],
        "time": spell_iso(s["time"]),
    }


def shipment_c(s: dict, drift: bool) -> dict:
    return {
        "order": {"id": s["order_id"]},
        "tracking": s["tracking"],
        "status" if drift else "state": s["status"],
        "ts": _epoch(s["time"]),
    }


def update_a(u: dict, drift: bool) -> dict:
    return {
        "orderRef": u["order_id"],
        "updated_at" if drift else "updatedAt": spell_iso(u["time"]),
        "change": u["change"],
        "notes": u["notes"],
    }


def update_b(u: dict, drift: bool) -> dict:
    return {
        "order_id": u["order_id"],
        "updated_at": spell_iso(u["time"]),
        "change" if drift else "change_type": u["change"],
    }


def update_c(u: dict, drift: bool) -> dict:
    return {
        "order": u["order_id"],
        "ts": _epoch(u["time"]),
        "change": u["change"],
        "note" if drift else "notes": u["notes"],
    }


# Dump shipments carry the whole history with a carrier.
def shipment_dump_a(s: dict) -> dict:
    return {
        "orderRef": s["order_id"],
        "carrier": s["carrier"],
        "tracking": s["tracking"],
        "updates": [{"status": h["status"], "time": spell_iso(h["time"])} for h in s["history"]],
    }


def shipment_dump_b(s: dict) -> dict:
    return {
        "order_id": s["order_id"],
        "logistics_partner": s["carrier"],
        "tracking_code": s["tracking"],
        "status_history": [
            {"status": h["status"], "time": spell_iso(h["time"])} for h in s["history"]
        ],
    }


def shipment_dump_c(s: dict) -> dict:
    return {
        "order": {"id": s["order_id"]},
        "carrier": s["carrier"],
        "tracking": s["tracking"],
        "timeline": [{"status": h["status"], "time": _minute(h["time"])} for h in s["history"]],
    }


Writer = Callable[[dict, bool], dict]
LIVE_WRITERS: dict[str, dict[str, Writer]] = {
    "order_created": {"vendor_a": order_a, "vendor_b": order_b, "vendor_c": order_c},
    "payment_succeeded": {"vendor_a": payment_a, "vendor_b": payment_b, "vendor_c": payment_c},
    "refund_issued": {"vendor_a": refund_a, "vendor_b": refund_b, "vendor_c": refund_c},
    "shipment_updated": {"vendor_a": shipment_a, "vendor_b": shipment_b, "vendor_c": shipment_c},
    "order_updated": {"vendor_a": update_a, "vendor_b": update_b, "vendor_c": update_c},
}
DUMP_ORDER_WRITERS: dict[str, Callable[..., dict]] = {
    "vendor_a": order_a,
    "vendor_b": order_b,
    "vendor_c": order_c,
}
DUMP_SHIPMENT_WRITERS: dict[str, Callable[[dict], dict]] = {
    "vendor_a": shipment_dump_a,
    "vendor_b": shipment_dump_b,
    "vendor_c": shipment_dump_c,
}
