"""Vendor shapes (SPEC §2.3) as data: canonical field <- alternative payload paths.

Every reader of vendor payloads (bootstrap landing, live staging) resolves fields through
this table; a new vendor or a renamed field is a change here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Paths = tuple[str, ...]


@dataclass(frozen=True)
class Shape:
    """How one vendor spells one kind of record."""

    kind: str
    vendor: str
    fields: Mapping[str, Paths]
    required: tuple[str, ...]
    any_of: tuple[str, ...] = ()  # at least one of these must resolve too
    item_fields: Mapping[str, Paths] = field(default_factory=dict)

    @property
    def known_top_keys(self) -> frozenset[str]:
        return frozenset(path.split(".")[0] for paths in self.fields.values() for path in paths)


ITEM_FIELDS = {
    "vendor_a": {"sku": ("sku",), "qty": ("qty",), "unit_price": ("price",)},
    "vendor_b": {"sku": ("sku",), "qty": ("quantity",), "unit_price": ("unit_price",)},
    "vendor_c": {"sku": ("productSku", "sku"), "qty": ("qty",), "unit_price": ("price",)},
}

SHAPES: tuple[Shape, ...] = (
    # Orders: order_created events and the orders dump.
    Shape(
        "orders",
        "vendor_a",
        {
            "order_id": ("orderRef",),
            "order_time": ("created",),
            "customer_id": ("customer.id", "buyer.id"),
            "email": ("customer.email", "buyer.email"),
            "phone": ("customer.phone", "buyer.phone"),
            "total": ("total", "totalAmount"),
            "currency": ("currency",),
            "region": ("region",),
            "address": ("shippingAddress",),
            "items": ("items",),
        },
        required=("order_id", "order_time"),
        item_fields=ITEM_FIELDS["vendor_a"],
    ),
    Shape(
        "orders",
        "vendor_b",
        {
            "order_id": ("order_id",),
            "order_time": ("created_at",),
            "customer_id": ("customerId",),
            "email": ("buyerEmail",),
            "phone": ("buyerPhone",),
            "total": ("totalAmount",),
            "currency": ("currencyCode", "currency"),
            "region": ("state",),
            "address": ("address",),
            "items": ("line_items",),
        },
        required=("order_id", "order_time"),
        item_fields=ITEM_FIELDS["vendor_b"],
    ),
    Shape(
        "orders",
        "vendor_c",
        {
            "order_id": ("order.id",),
            "order_time": ("order.ts",),
            "customer_id": ("cust_id",),
            "email": ("email",),
            "phone": ("phone",),
            "total": ("amount",),
            "currency": ("ccy",),
            "region": ("geo.region",),
            "address": ("shipping.address",),
            "items": ("items",),
        },
        required=("order_id", "order_time"),
        item_fields=ITEM_FIELDS["vendor_c"],
    ),
    # Payments: payment_succeeded events and the payments dump (SUCCESS and FAILED).
    Shape(
        "payments",
        "vendor_a",
        {
            "order_id": ("orderRef",),
            "paid_time": ("paidAt",),
            "status": ("status", "payment_status"),
            "amount": ("amount",),
            "currency": ("currency",),
            "method": ("method",),
            "transaction_ref": ("txRef",),
        },
        required=("order_id", "paid_time", "amount"),
    ),
    Shape(
        "payments",
        "vendor_b",
        {
            "order_id": ("order_id",),
            "paid_time": ("paid_at",),
            "status": ("payment_status",),
            "amount": ("amountPaid", "amount_paid"),
            "currency": ("currencyCode",),
            "method": ("channel",),
            "transaction_ref": ("transaction_id",),
        },
        required=("order_id", "paid_time", "amount"),
    ),
    Shape(
        "payments",
        "vendor_c",
        {
            "order_id": ("order",),
            "paid_time": ("timestamp",),
            "status": ("state", "payment_state"),
            "amount": ("amt",),
            "currency": ("ccy",),
            "method": ("paymentMethod",),
            "transaction_ref": ("txn",),
        },
        required=("order_id", "paid_time", "amount"),
    ),
    # Refunds: refund_issued events and the refunds dump.
    Shape(
        "refunds",
        "vendor_a",
        {
            "order_id": ("orderRef",),
            "refund_time": ("refundedAt",),
            "amount": ("amount",),
            "currency": ("currency",),
            "reason": ("reason",),
            "items": ("items", "refunded_items"),
        },
        required=("order_id", "refund_time", "amount"),
    ),
    Shape(
        "refunds",
        "vendor_b",
        {
            "order_id": ("order_id",),
            "refund_time": ("refunded_at",),
            "amount": ("refundAmount",),
            "currency": ("currencyCode",),
            "reason": ("refund_reason", "reason"),
            "items": ("refunded_items",),
        },
        required=("order_id", "refund_time", "amount"),
    ),
    Shape(
        "refunds",
        "vendor_c",
        {
            "order_id": ("order",),
            "refund_time": ("ts",),
            "amount": ("amt",),
            "currency": ("ccy",),
            "reason": ("reason",),
            "items": ("items_refunded", "items"),
        },
        required=("order_id", "refund_time", "amount"),
    ),
    # Shipments: one status per live event, a whole history per dump record.
    Shape(
        "shipments",
        "vendor_a",
        {
            "order_id": ("orderRef",),
            "tracking": ("tracking",),
            "carrier": ("carrier",),
            "status": ("status",),
            "status_time": ("updateTime", "update_time"),
            "history": ("updates",),
        },
        required=("order_id",),
        any_of=("status_time", "history"),
    ),
    Shape(
        "shipments",
        "vendor_b",
        {
            "order_id": ("order_id",),
            "tracking": ("tracking_code",),
            "carrier": ("logistics_partner",),
            "status": ("shipment_status", "status"),
            "status_time": ("time",),
            "history": ("status_history",),
        },
        required=("order_id",),
        any_of=("status_time", "history"),
    ),
    Shape(
        "shipments",
        "vendor_c",
        {
            "order_id": ("order.id",),
            "tracking": ("tracking",),
            "carrier": ("carrier",),
            "status": ("state", "status"),
            "status_time": ("ts",),
            "history": ("timeline",),
        },
        required=("order_id",),
        any_of=("status_time", "history"),
    ),
    # Order updates.
    Shape(
        "order_updates",
        "vendor_a",
        {
            "order_id": ("orderRef",),
            "update_time": ("updatedAt", "updated_at"),
            "change": ("change", "change_type"),
            "notes": ("notes", "note"),
        },
        required=("order_id", "update_time"),
    ),
    Shape(
        "order_updates",
        "vendor_b",
        {
            "order_id": ("order_id",),
            "update_time": ("updated_at",),
            "change": ("change_type", "change"),
            "notes": ("notes", "note"),
        },
        required=("order_id", "update_time"),
    ),
    Shape(
        "order_updates",
        "vendor_c",
        {
            "order_id": ("order",),
            "update_time": ("ts",),
            "change": ("change", "change_type"),
            "notes": ("notes", "note"),
        },
        required=("order_id", "update_time"),
    ),
)

#: Live event type -> record kind. Types absent here land in raw and stage as unmapped.
EVENT_KINDS: dict[str, str] = {
    "order_created": "orders",
    "order_updated": "order_updates",
    "payment_succeeded": "payments",
    "payment_failed": "payments",
    "refund_issued": "refunds",
    "shipment_updated": "shipments",
}
#: Bootstrap dump kind -> the event type its records are wrapped as.
DUMP_EVENT_TYPES: dict[str, str] = {
    "orders": "order_created",
    "payments": "payment_succeeded",
    "refunds": "refund_issued",
    "shipments": "shipment_updated",
}
#: The canonical time field of each kind (the record's own time).
TIME_FIELD: dict[str, str] = {
    "orders": "order_time",
    "payments": "paid_time",
    "refunds": "refund_time",
    "shipments": "status_time",
    "order_updates": "update_time",
}
ShapesByKind = dict[str, dict[str, Shape]]


def by_kind(shapes: tuple[Shape, ...]) -> ShapesByKind:
    """kind -> vendor -> shape (a later shape of the same kind and vendor replaces an earlier one)."""
    out: ShapesByKind = {}
    for shape in shapes:
        out.setdefault(shape.kind, {})[shape.vendor] = shape
    return out


#: The built-in shapes; `mapping_files.shapes_from` adds those of DATA_DIR/mappings/*.json.
SHAPES_BY_KIND: ShapesByKind = by_kind(SHAPES)

_MISSING = object()
_SPLIT: dict[str, tuple[str, ...]] = {}


def _parts(path: str) -> tuple[str, ...]:
    parts = _SPLIT.get(path)
    if parts is None:
        parts = _SPLIT[path] = tuple(path.split("."))
    return parts


def get_path(record: Any, path: str) -> Any:
    """`a.b` lookup; a missing key (or a non-object on the way) is `_MISSING`."""
    value = record
    for part in _parts(path):
        if value.__class__ is not dict:
            return _MISSING
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def resolve(record: Any, paths: Paths) -> Any:
    """The first of `paths` present in `record` (None when none is)."""
    for path in paths:
        value = get_path(record, path)
        if value is not _MISSING:
            return value
    return None


def resolve_column(records: list, paths: Paths) -> list:
    """`resolve` over a whole column; single-key paths take a fast dict.get route."""
    if all(len(_parts(p)) == 1 for p in paths):
        try:  # every record a dict (the normal case); a non-dict payload takes the general route
            if len(paths) == 1:
                key = paths[0]
                return [r.get(key) for r in records]
            out = []
            for r in records:
                for key in paths:
                    if key in r:
                        out.append(r[key])
                        break
                else:
                    out.append(None)
            return out
        except (AttributeError, TypeError):
            pass
    if len(paths) == 1 and len(_parts(paths[0])) == 2:  # "a.b": one nested lookup
        outer, inner = _parts(paths[0])
        return [
            v.get(inner)
            if (v := r.get(outer) if r.__class__ is dict else None).__class__ is dict
            else None
            for r in records
        ]
    return [resolve(r, paths) for r in records]


def present(record: Any, paths: Paths) -> bool:
    return any(get_path(record, path) is not _MISSING for path in paths)


def fits(shape: Shape, record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    if not all(present(record, shape.fields[name]) for name in shape.required):
        return False
    return not shape.any_of or any(present(record, shape.fields[name]) for name in shape.any_of)


def match_shape(
    kind: str, record: Any, shapes_by_kind: ShapesByKind = SHAPES_BY_KIND
) -> Shape | None:
    """The shape `record` has: the best-fitting one (most canonical fields present)."""
    shapes = shapes_by_kind.get(kind, {})
    candidates = [s for s in shapes.values() if fits(s, record)]
    if not candidates:
        return None
    return max(candidates, key=lambda s: sum(present(record, p) for p in s.fields.values()))


def unknown_keys(
    kind: str, record: Any, vendor: str | None, shapes_by_kind: ShapesByKind = SHAPES_BY_KIND
) -> list[str]:
    """Top-level payload keys the vendor's shape (or, without one, any shape) does not know."""
    if not isinstance(record, dict):
        return []
    shapes = shapes_by_kind.get(kind, {})
    known: frozenset[str] = (
        shapes[vendor].known_top_keys
        if vendor in shapes
        else frozenset().union(*(s.known_top_keys for s in shapes.values()))
    )
    return sorted(k for k in record if k not in known)
