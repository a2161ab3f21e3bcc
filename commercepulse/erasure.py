"""Erasure on request (NDPA 2023 / GDPR right to erasure): a person's identifying fields replaced
by a marker everywhere the platform keeps them, and an audit record of what was done, when and
why, without the data itself.

Where the person is found: the staged orders carrying the e-mail, phone or customer id asked for
(and, one hop, the other identifiers of those same orders), the raw events whose payload carries
any of them (the vendors' customer fields of the mapping table), quarantined lines containing
them, and platform users with that e-mail or phone. What changes:

- MongoDB: each matching payload field, quarantined text and platform user field becomes
  `erased:<erasure id>` (the raw store's one sanctioned rewrite);
- warehouse: `stg_orders`, `dim_customer` and `silver_users` get the marker, and the person's
  customer keys are re-hashed from the marker, the key a re-staging of the erased raw events
  gives, so nobody holding the salt can find the orders again from the e-mail;
- read snapshots: a new one is published and every older one removed.

Amounts, order ids and times stay: the figures do not move. The input files in DATA_DIR are the
vendors' and are not touched (docs/privacy.md)."""

from __future__ import annotations

import getpass
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from pymongo import UpdateOne
from pymongo.database import Database

from commercepulse.errors import InputError
from commercepulse.lib.customer_keys import keys_of
from commercepulse.mongo.indexes import PLATFORM_QUARANTINE, PLATFORM_RAW, QUARANTINE, RAW
from commercepulse.vendors.mapping import SHAPES
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.customer_rekey import rekey_statements
from commercepulse.warehouse.snapshots import HELD, snapshot_info

#: The audit collection: one document per erasure, never the erased values.
ERASURES = "erasures"
#: What an identifying field becomes.
MARKER = "erased:{erasure_id}"
#: The payload paths of each identifier, from the mapping table (every vendor's spelling).
IDENTIFIER_FIELDS = ("customer_id", "email", "phone")
#: The platform users' identifying fields (SPEC §9).
USER_FIELDS = ("name", "email", "phone")


def payload_paths() -> dict[str, set[str]]:
    """{identifier: payload paths} over every built-in vendor shape."""
    paths: dict[str, set[str]] = {name: set() for name in IDENTIFIER_FIELDS}
    for shape in SHAPES:
        for name in IDENTIFIER_FIELDS:
            paths[name].update(shape.fields.get(name, ()))
    return paths


def _exactly(values: set[str], ignore_case: bool) -> list[re.Pattern]:
    flags = re.IGNORECASE if ignore_case else 0
    return [re.compile(f"^\\s*{re.escape(v)}\\s*$", flags) for v in sorted(values)]


def erase_customer(
    db: Database,
    warehouse: Warehouse,
    salt: str,
    reason: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    customer_id: str | None = None,
) -> dict[str, Any]:
    """Erase one person found by exactly one identifier; returns the audit record."""
    given = erasure_request(reason, email=email, phone=phone, customer_id=customer_id)
    erasure_id = f"er_{uuid.uuid4().hex[:12]}"
    marker = MARKER.format(erasure_id=erasure_id)
    people = _identifiers(warehouse, given)
    counts = {
        "raw_events": _erase_raw(db, people, marker),
        "quarantined_lines": _erase_quarantine(db, people, marker),
        "platform_records": _erase_platform(db, people, marker),
    }
    counts.update(_erase_warehouse(warehouse, salt, people, marker))
    counts["snapshot"] = _republish(warehouse, erasure_id)
    record = {
        "_id": erasure_id,
        "erased_at": datetime.now(UTC),
        "reason": reason.strip(),
        "identified_by": next(iter(given)),  # the kind, never the value
        "requested_by": getpass.getuser(),
        "marker": marker,
        "counts": counts,
    }
    db[ERASURES].insert_one(record)
    return record


def erasure_request(
    reason: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    customer_id: str | None = None,
) -> dict[str, str]:
    """{kind: value} of a valid request (exactly one identifier, and a reason), else InputError."""
    given = {
        k: v.strip()
        for k, v in {"email": email, "phone": phone, "customer_id": customer_id}.items()
        if v and v.strip()
    }
    if len(given) != 1:
        raise InputError("give exactly one of --email, --phone or --customer-id")
    if not reason.strip():
        raise InputError("--reason is required: say why (a request reference, the ticket)")
    return given


def _identifiers(warehouse: Warehouse, given: dict[str, str]) -> dict[str, set[str]]:
    """The identifiers asked for, plus those of the same staged orders (one hop), and the
    customer keys and platform users they belong to."""
    params = {
        "email": given.get("email", "").lower() or None,
        "phone": given.get("phone") or None,
        "customer_id": given.get("customer_id") or None,
    }
    orders = warehouse.query(
        "SELECT DISTINCT customer_key, customer_id, email, phone FROM stg_orders "
        "WHERE lower(trim(email)) = $email OR trim(phone) = $phone OR customer_id = $customer_id",
        params,
    )
    found = {
        "customer_id": set(orders["customer_id"].dropna()),
        "email": {e.strip().lower() for e in orders["email"].dropna()},
        "phone": {p.strip() for p in orders["phone"].dropna()},
        "keys": set(orders["customer_key"].dropna()),
    }
    for name, value in given.items():
        found[name].add(value.lower() if name == "email" else value)
    users = warehouse.query(
        "SELECT DISTINCT user_id FROM silver_users WHERE list_contains($emails, email_norm) "
        "OR list_contains($phones, trim(phone))",
        {"emails": sorted(found["email"]) or [""], "phones": sorted(found["phone"]) or [""]},
    )
    found["users"] = set(users["user_id"].dropna())
    return found


def _erase_raw(db: Database, people: dict[str, set[str]], marker: str) -> int:
    """Every raw event whose payload carries one of the identifiers at a vendor's customer
    field: that field becomes the marker. A scan of the payload fields (no index serves them:
    an erasure is rare, the landing path is not slowed for it)."""
    paths, conditions, patterns = payload_paths(), [], {}
    for name, where in paths.items():
        patterns[name] = _exactly(people[name], ignore_case=name == "email")
        # a vendor may send a customer id as a number: staged as its digits, matched as both
        numbers = [int(v) for v in people[name] if name == "customer_id" and v.isdigit()]
        if patterns[name]:
            conditions += [
                {f"payload.{path}": {"$in": [*patterns[name], *numbers]}} for path in sorted(where)
            ]
    if not conditions:
        return 0
    updates = []
    for doc in db[RAW].find({"$or": conditions}, {"payload": 1}):
        changes = {}
        for name, where in paths.items():
            for path in where:
                value = _at(doc.get("payload"), path)
                if isinstance(value, bool) or not isinstance(value, (str, int)):
                    continue
                if any(p.match(str(value)) for p in patterns[name]):
                    changes[f"payload.{path}"] = marker
        if changes:
            updates.append(UpdateOne({"_id": doc["_id"]}, {"$set": changes}))
    if updates:
        db[RAW].bulk_write(updates, ordered=False)
    return len(updates)


def _at(payload: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(payload, dict):
            return None
        payload = payload.get(part)
    return payload


def _erase_quarantine(db: Database, people: dict[str, set[str]], marker: str) -> int:
    """Quarantined lines (vendor and platform) containing an identifier: each occurrence, in the
    text and in the bytes kept beside it, becomes the marker."""
    values = sorted(people["email"] | people["phone"] | people["customer_id"])
    if not values:
        return 0
    anywhere = re.compile("|".join(re.escape(v) for v in values), re.IGNORECASE)
    as_bytes = re.compile(anywhere.pattern.encode(), re.IGNORECASE)
    changed = 0
    for name in (QUARANTINE, PLATFORM_QUARANTINE):
        updates = []
        for doc in db[name].find({"raw_text": anywhere}, {"raw_text": 1, "raw_bytes": 1}):
            change = {"raw_text": anywhere.sub(marker, doc["raw_text"])}
            if doc.get("raw_bytes") is not None:
                change["raw_bytes"] = as_bytes.sub(marker.encode(), bytes(doc["raw_bytes"]))
            updates.append(UpdateOne({"_id": doc["_id"]}, {"$set": change}))
        if updates:
            db[name].bulk_write(updates, ordered=False)
        changed += len(updates)
    return changed


def _erase_platform(db: Database, people: dict[str, set[str]], marker: str) -> int:
    """Platform user records with the e-mail or phone: name, e-mail and phone become the marker."""
    emails, phones = _exactly(people["email"], True), _exactly(people["phone"], False)
    ors = ([{"record.email": {"$in": emails}}] if emails else []) + (
        [{"record.phone": {"$in": phones}}] if phones else []
    )
    if not ors:
        return 0
    found = db[PLATFORM_RAW].update_many(
        {"source_system": "users", "$or": ors},
        {"$set": {f"record.{field}": marker for field in USER_FIELDS}},
    )
    return found.modified_count


def _erase_warehouse(
    warehouse: Warehouse, salt: str, people: dict[str, set[str]], marker: str
) -> dict[str, int]:
    """The marker in the staged orders, the customer dimension and the platform users; the
    person's keys re-hashed from it (the key a re-staging of the erased events gives)."""
    keys = sorted(people["keys"])
    rows = warehouse.query(
        "SELECT DISTINCT customer_key, customer_id, email, phone FROM stg_orders "
        "WHERE list_contains($keys, customer_key)",
        {"keys": keys or [""]},
    )
    erased = rows.assign(
        **{c: rows[c].where(rows[c].isna(), marker) for c in ("customer_id", "email", "phone")}
    )
    new = keys_of(erased, salt)
    changes = pd.DataFrame(
        {"old_key": rows["customer_key"].astype("string"), "new_key": new}
    ).drop_duplicates("old_key")
    warehouse.replace_table("customer_key_changes", changes)
    blank = "CASE WHEN {c} IS NULL THEN NULL ELSE $marker END"
    statements = [
        (
            "UPDATE stg_orders SET "
            + ", ".join(f"{c} = {blank.format(c=c)}" for c in ("customer_id", "email", "phone"))
            + " WHERE list_contains($keys, customer_key)",
            {"marker": marker, "keys": keys or [""]},
        ),
        (
            "UPDATE dim_customer SET "
            + ", ".join(
                f"{c} = {blank.format(c=c)}"
                for c in ("customer_id", "email", "phone", "email_norm")
            )
            + " WHERE list_contains($keys, customer_key)",
            {"marker": marker, "keys": keys or [""]},
        ),
        (
            "UPDATE silver_users SET "
            + ", ".join(
                f"{c} = {blank.format(c=c)}" for c in ("name", "email", "email_norm", "phone")
            )
            + " WHERE list_contains($users, user_id)",
            {"marker": marker, "users": sorted(people["users"]) or [""]},
        ),
        *rekey_statements(),
    ]
    warehouse.execute(statements)
    return {
        "customer_keys": len(changes),
        "platform_users": len(people["users"]),
    }


def _republish(warehouse: Warehouse, erasure_id: str) -> str:
    """A new read snapshot of the erased warehouse, every older one removed (DuckDB; BigQuery's
    dataset is the one readers read). Returns where it is."""
    info = snapshot_info(warehouse.query(HELD), erasure_id, datetime.now(UTC), None)
    return warehouse.publish_snapshot(info, keep=1)
