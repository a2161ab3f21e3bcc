"""Raw events -> canonical staging frames (SPEC §4), table-driven through `mapping.SHAPES`.

Work is column-wise: records are grouped by matched shape, each canonical field is pulled
for the whole group at once, then times, amounts, FX and flags are vectorized pandas.
Every input event ends in exactly one frame or in `stg_unmapped` (a shipment history
explodes into several `stg_shipments` rows of the same event).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pandas as pd
from bson.decimal128 import Decimal128

from commercepulse.lib.customer_keys import keys_of
from commercepulse.lib.gcpause import paused_gc
from commercepulse.lib.ids import clean_ids, is_blank
from commercepulse.lib.money import as_sent, to_kobo
from commercepulse.lib.privacy import mask_text
from commercepulse.lib.timeparse import parse_times
from commercepulse.staging.fx import convert
from commercepulse.vendors.mapping import (
    EVENT_KINDS,
    SHAPES_BY_KIND,
    TIME_FIELD,
    Shape,
    ShapesByKind,
    match_shape,
    resolve_column,
    unknown_keys,
)

FRAMES = (
    "stg_orders",
    "stg_order_items",
    "stg_payments",
    "stg_refunds",
    "stg_shipments",
    "stg_order_updates",
    "stg_unmapped",
)
KIND_FRAME = {
    "orders": "stg_orders",
    "payments": "stg_payments",
    "refunds": "stg_refunds",
    "shipments": "stg_shipments",
    "order_updates": "stg_order_updates",
}


def _exact(value: Any) -> str:
    """JSON for what orjson cannot write: an integer wider than 64 bits, landed exact as
    Decimal128 (raw/landing/codec.py), is written as its digits in a string, never rounded."""
    if isinstance(value, Decimal128):
        return str(value.to_decimal())
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json(value: Any) -> str | None:
    return (
        None
        if value is None
        else orjson.dumps(value, default=_exact, option=orjson.OPT_SORT_KEYS).decode()
    )


def _text(values: list) -> pd.Series:
    return pd.Series(values, dtype="object").astype("string")


def _utc(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC")
    return pd.to_datetime(values, utc=True, cache=False)


def _envelope(events: pd.DataFrame, late_hours: float) -> pd.DataFrame:
    env = pd.DataFrame(
        {
            "event_id": events["event_id"].astype("string"),
            "vendor": events["vendor"].astype("string"),
            "event_time": _utc(events["event_time"]),
            "ingested_at": _utc(events["ingested_at"]),
            "source_kind": events["source_kind"].astype("string"),
        }
    )
    env["event_date"] = (
        env["event_time"].dt.tz_convert(None).dt.normalize().astype("datetime64[ns]")
    )
    lag = env["ingested_at"] - env["event_time"]
    # Historical dump records are history by nature: never late (SPEC §6).
    env["is_late"] = (lag > pd.Timedelta(hours=late_hours)) & (env["source_kind"] != "bootstrap")
    return env


FieldsOf = Callable[[Shape], list[str]]


def _fields(shape: Shape, payloads: list, only: FieldsOf | None = None) -> dict[str, list]:
    """Each canonical field of the shape over the payloads (`only`: just the fields it names)."""
    names = shape.fields if only is None else only(shape)
    return {name: resolve_column(payloads, shape.fields[name]) for name in names}


#: Fields a figures-only builder reads beyond the order id, the kind's own time and what decides
#: the fit (required, any_of).
FIGURE_EXTRA_FIELDS = {
    "payments": ("status",),
    "shipments": ("history", "status", "tracking", "carrier"),
}


def figure_fields(shape: Shape) -> list[str]:
    """The fields counting needs: those that decide whether (and where) a record lands."""
    wanted = {"order_id", TIME_FIELD[shape.kind], *shape.required, *shape.any_of}
    wanted.update(FIGURE_EXTRA_FIELDS.get(shape.kind, ()))
    return [name for name in shape.fields if name in wanted]


def normalize(
    events: pd.DataFrame,
    rates: pd.DataFrame,
    late_hours: float = 24.0,
    shapes: ShapesByKind = SHAPES_BY_KIND,
    figures_only: bool = False,
    customer_salt: str = "",
) -> dict[str, pd.DataFrame]:
    """`events`: event_id, event_type, event_time, vendor, payload, ingested_at, source_kind;
    `shapes`: the vendor mappings (built-in, plus those of DATA_DIR/mappings).

    `figures_only`: every event lands in the same frame (or `stg_unmapped`) by the same rules, but
    a frame carries only what counting needs (envelope, order id, its own time, a payment's
    status): no money, FX, items or resent-payment flags. The vendor feed counts with it.

    `customer_salt`: the secret the customer keys are hashed under (lib/customer_keys.py)."""
    with paused_gc():
        return _normalize(
            events,
            rates,
            late_hours,
            shapes,
            FIGURE_BUILDERS if figures_only else BUILDERS,
            figure_fields if figures_only else None,
            customer_salt,
        )


def _normalize(
    events: pd.DataFrame,
    rates: pd.DataFrame,
    late_hours: float,
    shapes: ShapesByKind,
    builders: dict[str, Callable],
    only: FieldsOf | None,
    customer_salt: str = "",
) -> dict[str, pd.DataFrame]:
    events = events.reset_index(drop=True)
    env = _envelope(events, late_hours)
    payloads = events["payload"].tolist()
    kinds = events["event_type"].map(EVENT_KINDS)
    parts: dict[str, list[pd.DataFrame]] = defaultdict(list)
    unmapped: list[tuple[int, str]] = []

    # (kind, shape, rows, fields): built once every group is known, their times parsed at once
    groups: list[tuple[str, Shape, list[int], dict[str, list]]] = []

    keys = pd.DataFrame({"kind": kinds, "vendor": events["vendor"]})
    for (kind, vendor), positions in keys.groupby(
        ["kind", "vendor"], dropna=False, sort=True
    ).indices.items():
        rows = positions.tolist()
        if not isinstance(kind, str):
            unmapped.extend((i, f"unknown event_type {events.at[i, 'event_type']!r}") for i in rows)
            continue
        leftovers = rows
        shape = shapes.get(kind, {}).get(vendor) if isinstance(vendor, str) else None
        if shape is not None:  # the envelope's vendor, for the whole group in one pass
            raw = _fields(shape, [payloads[i] for i in rows], only)
            ok = _fitting(shape, raw)
            if all(ok):
                groups.append((kind, shape, rows, raw))
                continue
            groups.append(
                (
                    kind,
                    shape,
                    [i for i, k in zip(rows, ok) if k],
                    {name: [v for v, k in zip(values, ok) if k] for name, values in raw.items()},
                )
            )
            leftovers = [i for i, k in zip(rows, ok) if not k]
        by_shape: dict[str, list[int]] = defaultdict(list)
        for i in leftovers:  # rare: drifted vendor field, or an unknown vendor
            match = match_shape(kind, payloads[i], shapes)
            if match is None or not all(_fitting(match, _fields(match, [payloads[i]], only))):
                unmapped.append((i, f"no {kind} shape fits the payload"))
            else:
                by_shape[match.vendor].append(i)
        for matched, idx in by_shape.items():
            shape = shapes[kind][matched]
            groups.append((kind, shape, idx, _fields(shape, [payloads[i] for i in idx], only)))

    for (kind, shape, rows, raw), own_time in zip(groups, _own_times(groups), strict=True):
        base = env.iloc[rows].reset_index(drop=True)
        base["vendor"] = pd.array([shape.vendor] * len(rows), dtype="string")
        base["order_id"] = clean_ids(raw["order_id"])
        builders[kind](base, raw, own_time, shape, parts, rates)

    frames = {name: _concat(parts.get(name, []), name) for name in FRAMES if name != "stg_unmapped"}
    orders = frames["stg_orders"]
    if "customer_id" in orders:  # one hash per distinct customer of the whole batch
        orders["customer_key"] = keys_of(orders, customer_salt)
    # Rows whose own time cannot be parsed are unmapped, not silently dated.
    bad_time: list[tuple[int, str]] = []
    for kind, name in KIND_FRAME.items():
        frame = frames[name]
        time_col = TIME_FIELD[kind]
        if len(frame) and frame[time_col].isna().any():
            bad = frame[frame[time_col].isna()]
            ids = set(bad["event_id"])
            frames[name] = frame[~frame["event_id"].isin(ids)].reset_index(drop=True)
            if name == "stg_orders":
                items = frames["stg_order_items"]
                frames["stg_order_items"] = items[~items["event_id"].isin(ids)].reset_index(
                    drop=True
                )
            positions = env.index[env["event_id"].isin(ids)]
            bad_time.extend((int(p), f"unparseable {time_col}") for p in positions)
    frames["stg_unmapped"] = _unmapped(events, env, kinds, unmapped + bad_time, shapes)
    if builders is BUILDERS:
        frames["stg_payments"] = _flag_resent_payments(frames["stg_payments"])
    return frames


def _own_times(groups: list[tuple[str, Shape, list[int], dict[str, list]]]) -> list[pd.Series]:
    """Each group's own time (its kind's TIME_FIELD), parsed by one `parse_times` call for all
    groups: pandas' per-call cost is paid once per batch, not once per kind and vendor (a value's
    parse never depends on its neighbours). A batch of 2,000 events has about 15 groups."""
    columns = [raw[TIME_FIELD[kind]] for kind, _, _, raw in groups]
    parsed = parse_times([value for column in columns for value in column])
    bounds = np.cumsum([0, *map(len, columns)])
    return [
        parsed.iloc[start:end].reset_index(drop=True)
        for start, end in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def _fitting(shape: Shape, raw: dict[str, list]) -> list[bool]:
    """Rows whose required fields (and one of `any_of`) resolved to a value."""
    ok = [True] * len(raw["order_id"])
    for name in shape.required:
        ok = [a and not is_blank(v) for a, v in zip(ok, raw[name])]  # blank = missing
    if shape.any_of:
        alternatives = [raw[name] for name in shape.any_of]
        ok = [a and any(v is not None for v in alts) for a, *alts in zip(ok, *alternatives)]
    return ok


def _positions(counts: np.ndarray) -> np.ndarray:
    """0-based position of each exploded element within its parent row."""
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum())) - starts


def _money(
    frame: pd.DataFrame,
    amount: list,
    currency: list,
    when: pd.Series,
    rates: pd.DataFrame,
    prefix: str,
) -> None:
    frame[prefix] = as_sent(
        pd.to_numeric(pd.Series(amount, dtype=object), errors="coerce").astype("float64")
    )
    frame["currency"] = _text(currency).str.upper()
    fx = convert(frame[prefix], frame["currency"], when, rates)
    frame[f"{prefix}_ngn"] = fx["amount_ngn"].to_numpy()
    frame["fx_rate"] = fx["fx_rate"].to_numpy()
    frame["fx_rate_date"] = fx["fx_rate_date"].to_numpy()


def _build_orders(base, raw, own_time, shape, parts, rates) -> None:
    frame = base
    frame["order_time"] = own_time
    frame["customer_id"] = clean_ids(raw["customer_id"])
    frame["email"] = clean_ids(raw["email"]).str.lower()
    frame["phone"] = clean_ids(raw["phone"])
    _money(frame, raw["total"], raw["currency"], frame["order_time"], rates, "total")
    frame["region"] = _text(raw["region"])
    frame["address"] = pd.Series(
        [a if isinstance(a, str) or a is None else _json(a) for a in raw["address"]], dtype="string"
    )
    items = [i if isinstance(i, list) else [] for i in raw["items"]]
    frame["item_count"] = pd.Series([len(i) for i in items], dtype="int64")
    parts["stg_orders"].append(frame)
    counts = frame["item_count"].to_numpy()
    flat = [item for row in items for item in row]
    flat = [item if isinstance(item, dict) else {} for item in flat]
    fields = {name: resolve_column(flat, paths) for name, paths in shape.item_fields.items()}
    lines = frame.loc[
        np.repeat(frame.index.to_numpy(), counts),
        [
            "event_id",
            "vendor",
            "order_id",
            "event_time",
            "order_time",
            "event_date",
            "ingested_at",
            "is_late",
            "source_kind",
        ],
    ].reset_index(drop=True)
    lines["line_no"] = pd.Series(_positions(counts) + 1, dtype="int64")
    lines["sku"] = clean_ids(fields["sku"])
    lines["qty"] = pd.to_numeric(pd.Series(fields["qty"], dtype=object), errors="coerce").astype(
        "float64"
    )
    lines["unit_price_ngn"] = as_sent(
        pd.to_numeric(pd.Series(fields["unit_price"], dtype=object), errors="coerce").astype(
            "float64"
        )
    )
    lines["line_total_ngn"] = to_kobo(lines["unit_price_ngn"].to_numpy(), lines["qty"].to_numpy())
    parts["stg_order_items"].append(lines)


def _build_payments(base, raw, own_time, shape, parts, rates) -> None:
    frame = base
    frame["paid_time"] = own_time
    frame["status"] = _payment_status(raw)
    _money(frame, raw["amount"], raw["currency"], frame["paid_time"], rates, "amount")
    frame["method"] = _text(raw["method"])
    frame["transaction_ref"] = _text(raw["transaction_ref"])
    parts["stg_payments"].append(frame)


def _payment_status(raw: dict[str, list]) -> pd.Series:
    status = _text(raw["status"]).str.strip().str.upper()
    return status.fillna("SUCCESS")  # payment_succeeded without a status field


def _build_refunds(base, raw, own_time, shape, parts, rates) -> None:
    frame = base
    frame["refund_time"] = own_time
    _money(frame, raw["amount"], raw["currency"], frame["refund_time"], rates, "amount")
    frame["reason"] = _text(raw["reason"])
    frame["refunded_items"] = pd.Series(
        [_json(i) if i else None for i in raw["items"]], dtype="string"
    )
    frame["lists_items"] = pd.Series([bool(i) for i in raw["items"]], dtype="bool")
    parts["stg_refunds"].append(frame)


def _build_shipments(base, raw, own_time, shape, parts, rates) -> None:
    histories = [h if isinstance(h, list) and h else None for h in raw["history"]]
    if not any(histories):  # live events: one status each, no explosion needed
        frame = base
        frame["history_index"] = pd.Series(np.zeros(len(frame), dtype="int64"))
        frame["status"] = _text(raw["status"]).str.strip().str.upper()
        frame["status_time"] = own_time
        frame["tracking"] = _text(raw["tracking"])
        frame["carrier"] = _text(raw["carrier"])
        parts["stg_shipments"].append(frame)
        return
    entries = [
        h if h is not None else [{"status": s, "time": t}]
        for h, s, t in zip(histories, raw["status"], raw["status_time"])
    ]
    counts = np.array([len(e) for e in entries], dtype="int64")
    frame = base.loc[np.repeat(base.index.to_numpy(), counts)].reset_index(drop=True)
    flat = [entry if isinstance(entry, dict) else {} for row in entries for entry in row]
    frame["history_index"] = pd.Series(_positions(counts), dtype="int64")
    frame["status"] = _text([e.get("status") for e in flat]).str.strip().str.upper()
    frame["status_time"] = parse_times([e.get("time") for e in flat])
    frame["tracking"] = _text(np.repeat(np.array(raw["tracking"], dtype=object), counts).tolist())
    frame["carrier"] = _text(np.repeat(np.array(raw["carrier"], dtype=object), counts).tolist())
    parts["stg_shipments"].append(frame)


def _build_updates(base, raw, own_time, shape, parts, rates) -> None:
    frame = base
    frame["update_time"] = own_time
    frame["change"] = _text(raw["change"])
    frame["notes"] = _text(raw["notes"])
    parts["stg_order_updates"].append(frame)


BUILDERS = {
    "orders": _build_orders,
    "payments": _build_payments,
    "refunds": _build_refunds,
    "shipments": _build_shipments,
    "order_updates": _build_updates,
}


def _with_status(frame: pd.DataFrame, raw: dict[str, list]) -> None:
    frame["status"] = _payment_status(raw)


def _time_only(kind: str, frame_name: str, extra: Callable | None = None) -> Callable:
    """A figures-only builder: the envelope, the kind's own time (unparseable = unmapped) and
    `extra(frame, raw)`."""
    time_col = TIME_FIELD[kind]

    def build(base, raw, own_time, shape, parts, rates) -> None:
        base[time_col] = own_time
        if extra is not None:
            extra(base, raw)
        parts[frame_name].append(base)

    return build


FIGURE_BUILDERS = {
    "orders": _time_only("orders", "stg_orders"),
    "payments": _time_only("payments", "stg_payments", _with_status),
    "refunds": _time_only("refunds", "stg_refunds"),
    "shipments": _build_shipments,  # a history explodes into rows: its times are all judged
    "order_updates": _time_only("order_updates", "stg_order_updates"),
}


def _flag_resent_payments(payments: pd.DataFrame) -> pd.DataFrame:
    """A payment re-sent under a new event id keeps its first copy; repeats point to it.

    Same vendor, order, transaction ref, amount and payment time. A ref alone is never the
    key (vendor_c draws refs at random).
    """
    if payments.empty:
        payments["duplicate_of"] = pd.Series(dtype="string")
        return payments
    key = ["vendor", "order_id", "transaction_ref", "amount", "paid_time"]
    # history (dumps) before the live stream, the stream by arrival; a dump record's ingested_at is
    # only when it was landed, so ties between dump copies go by event id (the same on every run)
    live = payments["source_kind"] != "bootstrap"
    ordered = payments.assign(_live=live, _arrived=payments["ingested_at"].where(live)).sort_values(
        ["_live", "_arrived", "event_id"], kind="stable"
    )
    first = ordered.groupby(key, dropna=False, sort=False)["event_id"].transform("first")
    payments["duplicate_of"] = (
        first.where(first != ordered["event_id"]).reindex(payments.index).astype("string")
    )
    return payments


def _unmapped(
    events: pd.DataFrame,
    env: pd.DataFrame,
    kinds: pd.Series,
    rows: list[tuple[int, str]],
    shapes: ShapesByKind,
) -> pd.DataFrame:
    positions = [i for i, _ in rows]
    frame = env.iloc[positions][
        ["event_id", "vendor", "event_date", "ingested_at", "is_late", "source_kind"]
    ].reset_index(drop=True)
    frame.insert(
        1,
        "event_type",
        events["event_type"].iloc[positions].astype("string").reset_index(drop=True),
    )
    frame["order_id"] = pd.Series([None] * len(rows), dtype="string")
    frame["reason"] = pd.Series([r for _, r in rows], dtype="string")
    frame["unknown_keys"] = pd.Series(
        [
            ",".join(
                unknown_keys(
                    kinds.iat[i] if isinstance(kinds.iat[i], str) else "",
                    events.at[i, "payload"],
                    env.at[i, "vendor"],
                    shapes,
                )
            )
            or None
            for i in positions
        ],
        dtype="string",
    )
    # what a mapping needs is the shape; e-mails and phones in it are masked (the raw store
    # keeps the payload whole)
    frame["payload"] = pd.Series(
        [mask_text(_json(events.at[i, "payload"])) for i in positions], dtype="string"
    )
    return frame


def _concat(parts: list[pd.DataFrame], name: str) -> pd.DataFrame:
    from commercepulse.staging.schemas import empty_frame

    if not parts:
        return empty_frame(name)
    return pd.concat(parts, ignore_index=True)
