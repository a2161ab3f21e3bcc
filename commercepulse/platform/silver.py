"""Silver: Bronze records of the keys a window touched -> deduplicated, typed frames.

Incremental by key: a window of ingestion days names the keys it touched; every Bronze
record of those keys (whatever day it arrived) is read and the keys' Silver rows rebuilt.
So late and out-of-order records land in their place in the history, and re-running any
window gives the same rows. Users and products keep SCD type 2 history; orders resolve
their status (latest by time wins) keeping the lifecycle facts visible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import pandas as pd
from pymongo.database import Database

from commercepulse.lib.ids import clean_ids
from commercepulse.lib.timeparse import parse_times
from commercepulse.mongo.indexes import PLATFORM_RAW
from commercepulse.platform.sources import SOURCES, Source
from commercepulse.staging.schemas import validate
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.frames import conform
from commercepulse.warehouse.schema import SILVER

KEYS_PER_QUERY = 20_000
STAGE_RANK = {"CREATED": 1, "PAID": 2, "SHIPPED": 3}  # CANCELLED ends a lifecycle from any stage
#: Id fields of the platform sources: trimmed, blank = missing (SPEC §9).
ID_COLUMNS = {"user_id", "session_id", "order_id", "product_id", "event_id"}


def touched_keys(db: Database, source: Source, start: date, end: date) -> list[str]:
    """Keys with a Bronze record ingested in [start, end) (index-only: source_day_key)."""
    return sorted(
        db[PLATFORM_RAW].distinct(
            "record_key",
            {
                "source_system": source.name,
                "source.ingestion_day": {"$gte": start.isoformat(), "$lt": end.isoformat()},
            },
        )
    )


def bronze_records(db: Database, source: Source, keys: list[str]) -> pd.DataFrame:
    """Every Bronze record of `keys`: the record's fields plus `_bronze_id`, ingestion day and line."""
    rows = []
    for i in range(0, len(keys), KEYS_PER_QUERY):
        cursor = db[PLATFORM_RAW].find(
            {"source_system": source.name, "record_key": {"$in": keys[i : i + KEYS_PER_QUERY]}},
            {"record": 1, "source.ingestion_day": 1, "source.line": 1},
        )
        rows.extend(
            {
                **doc["record"],
                "_bronze_id": doc["_id"],
                "_ingestion_day": doc["source"]["ingestion_day"],
                "_line": doc["source"]["line"],
            }
            for doc in cursor
        )
    frame = pd.DataFrame.from_records(rows)
    if frame.empty:
        return frame
    for column in ID_COLUMNS & set(
        frame.columns
    ):  # blank, whitespace-only and null ids are missing
        frame[column] = clean_ids(frame[column])
    frame = frame.dropna(subset=[source.key])  # landed before Bronze quarantined blank keys
    # Arrival order: ingestion day, then position in the file, then id (deterministic).
    return frame.sort_values(["_ingestion_day", "_line", "_bronze_id"], kind="stable").reset_index(
        drop=True
    )


def _ids(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    """Comma-separated Bronze ids per group (sorted), aligned to the groups' first rows."""
    return frame.groupby(by, sort=False, dropna=False)["_bronze_id"].transform(
        lambda s: ",".join(sorted(s))
    )


def scd2(frame: pd.DataFrame, key: str, time_col: str, tracked: list[str]) -> pd.DataFrame:
    """Versions per key: ordered by validity time (arrival order breaks ties, last wins);
    consecutive records with the same tracked values are one version."""
    frame = frame.assign(_t=parse_times(frame[time_col]), _ids=_ids(frame, [key, time_col]))
    frame = frame.dropna(subset=["_t"])
    # Same key and instant sent again (possibly corrected): the last arrival wins.
    frame = frame.drop_duplicates([key, "_t"], keep="last").sort_values([key, "_t"], kind="stable")
    values = frame[tracked].astype("string").fillna("\x00")
    previous = (
        values.groupby(frame[key]).shift().fillna("\x01")
    )  # a key's first record is always a version
    changed = (values != previous).any(axis=1)
    versions = frame[changed].copy()
    # Bronze ids of the records folded into each version.
    version_no = changed.astype(int).groupby(frame[key]).cumsum()
    folded = frame.groupby([frame[key], version_no])["_ids"].agg(",".join)
    versions["bronze_ids"] = folded.loc[list(zip(versions[key], version_no[changed]))].to_numpy()
    versions["valid_from"] = versions["_t"]
    versions["valid_to"] = versions.groupby(key)["_t"].shift(-1)
    versions["is_current"] = versions["valid_to"].isna()
    return versions.reset_index(drop=True)


def build_users(records: pd.DataFrame) -> pd.DataFrame:
    frame = scd2(records, "user_id", "updated_at", ["name", "email", "phone"])
    frame["email_norm"] = clean_ids(frame["email"]).str.lower()
    created = parse_times(records["created_at"]).groupby(records["user_id"]).min()
    frame["created_at"] = frame["user_id"].map(created)
    return frame


def build_products(records: pd.DataFrame) -> pd.DataFrame:
    records = records.assign(price=pd.to_numeric(records["price"], errors="coerce"))
    frame = scd2(records, "product_id", "updated_at", ["product_name", "category", "price"])
    frame["price_ngn"] = frame["price"]
    frame["available_stock"] = pd.to_numeric(frame.get("available_stock"), errors="coerce")
    return frame


def build_orders(records: pd.DataFrame) -> pd.DataFrame:
    """One row per order: latest status by time wins (stage order breaks ties); lifecycle flags."""
    records = records.assign(
        status=records["status"].astype("string").str.strip().str.upper(),
        _t=parse_times(records["status_ts"]),
    )
    records = records.dropna(subset=["_t"])
    ids = records.groupby("order_id")["_bronze_id"].agg(lambda s: ",".join(sorted(s)))
    all_records = records.groupby("order_id").size()
    records = records.drop_duplicates(["order_id", "status", "_t"])
    records["_rank"] = records["status"].map(STAGE_RANK).fillna(4)
    records = records.sort_values(["order_id", "_t", "_rank"], kind="stable")
    last = records.groupby("order_id").tail(1).set_index("order_id")
    first_at = records.pivot_table(index="order_id", columns="status", values="_t", aggfunc="min")
    stage = records["status"].map(STAGE_RANK)  # NaN for CANCELLED: not part of the stage sequence
    staged = records[stage.notna()].assign(_stage=stage.dropna())
    backwards = (
        (staged["_stage"] < staged.groupby("order_id")["_stage"].cummax())
        .groupby(staged["order_id"])
        .any()
    )
    users = (
        records.dropna(subset=["user_id"]).groupby("order_id")["user_id"].last()
        if "user_id" in records
        else pd.Series(dtype="string")
    )
    out = pd.DataFrame({"order_id": last.index})
    out["user_id"] = out["order_id"].map(users)
    out["status"] = last["status"].to_numpy()
    out["status_time"] = last["_t"].to_numpy()
    out["first_status_time"] = out["order_id"].map(records.groupby("order_id")["_t"].min())
    for status, col in (
        ("CREATED", "created_at"),
        ("PAID", "paid_at"),
        ("SHIPPED", "shipped_at"),
        ("CANCELLED", "cancelled_at"),
    ):
        out[col] = (
            out["order_id"].map(first_at[status])
            if status in first_at
            else pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
        )
    last_cancel = records[records["status"] == "CANCELLED"].groupby("order_id")["_t"].max()
    out["cancelled_after_payment"] = (out["order_id"].map(last_cancel) > out["paid_at"]).fillna(
        False
    )
    out["status_went_backwards"] = out["order_id"].map(backwards).eq(True)  # unmapped (NaN) = False
    out["status_records"] = out["order_id"].map(records.groupby("order_id").size())
    out["duplicate_records"] = out["order_id"].map(all_records) - out["status_records"]
    out["bronze_ids"] = out["order_id"].map(ids)
    return out


#: What identifies an order line: an exact re-sent copy (same order, SKU, quantity, price and
#: instant, however the time is spelled) is one line; two different lines for one SKU are two.
LINE_IDENTITY = ["order_id", "product_id", "quantity", "unit_price_ngn", "created_at"]


def build_order_items(records: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct line (`LINE_IDENTITY`), first arrival kept, numbered 1.. within its order
    in (time, SKU, quantity, price) order; the price is the purchase price."""
    frame = records.assign(
        quantity=pd.to_numeric(records["quantity"], errors="coerce"),
        unit_price_ngn=pd.to_numeric(records["unit_price"], errors="coerce"),
        created_at=parse_times(records["created_at"]),
    )
    frame = frame.dropna(subset=["order_id", "product_id", "created_at"])
    frame = frame.assign(bronze_ids=_ids(frame, LINE_IDENTITY)).drop_duplicates(
        LINE_IDENTITY, keep="first"
    )
    frame = frame.sort_values(
        ["order_id", "created_at", "product_id", "quantity", "unit_price_ngn"], kind="stable"
    )
    frame["line_no"] = frame.groupby("order_id").cumcount() + 1
    return frame.reset_index(drop=True)


def build_behaviour_events(records: pd.DataFrame) -> pd.DataFrame:
    """One row per event_id (first arrival), with how many copies Bronze holds."""
    ids = _ids(records, ["event_id"])
    copies = records.groupby("event_id")["event_id"].transform("size")
    frame = records.assign(bronze_ids=ids, copies=copies).drop_duplicates("event_id", keep="first")
    frame = frame.assign(
        event_ts=parse_times(frame["event_ts"]),
        event_type=frame["event_type"].astype("string").str.strip().str.lower(),
        device_type=frame["device_type"].astype("string").str.strip().str.lower(),
        first_ingestion_day=pd.to_datetime(frame["_ingestion_day"]),
    )
    frame["event_date"] = frame["event_ts"].dt.tz_localize(None).dt.normalize()
    frame["is_late"] = frame["event_date"] < frame["first_ingestion_day"]
    if "user_id" not in frame:
        frame["user_id"] = None
    return frame.dropna(subset=["event_ts"])


BUILDERS: dict[str, tuple[str, Callable[[pd.DataFrame], pd.DataFrame]]] = {
    "users": ("silver_users", build_users),
    "products": ("silver_products", build_products),
    "orders": ("silver_orders", build_orders),
    "order_items": ("silver_order_items", build_order_items),
    "behaviour_events": ("silver_behaviour_events", build_behaviour_events),
}
SILVER_OF = {source: table for source, (table, _) in BUILDERS.items()}


def silver_frames(
    db: Database, start: date, end: date, sources: Iterable[str] = tuple(SOURCES)
) -> dict[str, tuple[str, list[str], pd.DataFrame]]:
    """{silver table: (key column, touched keys, rebuilt rows)} for a window of ingestion days."""
    out = {}
    for name in sources:
        source = SOURCES[name]
        table, build = BUILDERS[name]
        keys = touched_keys(db, source, start, end)
        records = bronze_records(db, source, keys)
        frame = build(records) if len(records) else pd.DataFrame()
        out[table] = (source.key, keys, frame)
    return out


def rebuild_silver(
    db: Database, warehouse: Warehouse, start: date, end: date
) -> list[tuple[str, str, list[str], pd.DataFrame]]:
    """Rebuild the Silver rows of every key the window's Bronze records touched, in one transaction."""
    batches = [
        (table, key, keys, validate(conform(frame, SILVER[table]), table, f"{start}..{end}"))
        for table, (key, keys, frame) in silver_frames(db, start, end).items()
    ]
    warehouse.replace_keys(batches)
    return batches
