"""The customer key salt, recorded by fingerprint, and the re-key that follows a new one: every
customer key of the warehouse re-hashed from the sources in `stg_orders`, so the same person
keeps one key. A warehouse whose keys predate hashing (plain e-mails and phones) is re-keyed the
same way on first use."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pandas as pd

from commercepulse.errors import ConfigurationError
from commercepulse.lib.customer_keys import keys_of
from commercepulse.warehouse.base import Warehouse

#: The tables holding customer keys (dim_customer's rows are keyed by it).
KEYED = ("stg_orders", "fact_orders", "dim_customer")
_PROBE = b"commercepulse customer key salt fingerprint"


class CustomerSaltChangedError(ConfigurationError):
    """The salt differs from the one the warehouse's keys are hashed under."""


def fingerprint(salt: str) -> str:
    """Says whether two salts are the same without revealing either."""
    return hmac.new(salt.encode(), _PROBE, hashlib.sha256).hexdigest()[:16]


def recorded_fingerprint(warehouse: Warehouse) -> str | None:
    rows = warehouse.query(
        "SELECT fingerprint FROM customer_key_salts ORDER BY recorded_at DESC LIMIT 1"
    )
    return None if rows.empty else str(rows.iloc[0, 0])


def ensure_salt(warehouse: Warehouse, salt: str) -> int:
    """Before staging: the salt must be the one recorded. None recorded: keys written before
    hashing (or none at all) are re-keyed under it and it is recorded. Returns keys re-hashed."""
    known = recorded_fingerprint(warehouse)
    if known == fingerprint(salt):
        return 0
    if known is not None:
        raise CustomerSaltChangedError(
            "CUSTOMER_KEY_SALT is not the salt this warehouse's customer keys were made with. "
            "Put the old salt back, or re-key every customer under the new one with "
            "`commercepulse rekey-customers` (then staging goes on)."
        )
    return rekey(warehouse, salt)


def rekey(warehouse: Warehouse, salt: str) -> int:
    """Every customer key re-hashed under `salt` from its row's sources, in one transaction over
    KEYED, and the salt's fingerprint recorded. Returns the number of keys that changed."""
    sources = warehouse.query(
        "SELECT DISTINCT customer_key, customer_id, email, phone FROM stg_orders "
        "WHERE customer_key IS NOT NULL"
    )
    new = keys_of(sources, salt)
    changes = (
        pd.DataFrame({"old_key": sources["customer_key"].astype("string"), "new_key": new})
        .drop_duplicates("old_key")
        .query("old_key != new_key")
        .reset_index(drop=True)
    )
    warehouse.replace_table("customer_key_changes", changes)
    record = (
        "INSERT INTO customer_key_salts (fingerprint, recorded_at, rekeyed_keys) "
        "VALUES ($fingerprint, $at, $keys)",
        {"fingerprint": fingerprint(salt), "at": datetime.now(UTC), "keys": len(changes)},
    )
    warehouse.execute([*rekey_statements(), record])
    return len(changes)


def rekey_statements() -> list[tuple[str, dict]]:
    """Each KEYED table's keys moved by `customer_key_changes` (old_key → new_key)."""
    return [
        (
            f"UPDATE {table} SET customer_key = c.new_key FROM customer_key_changes c "
            f"WHERE {table}.customer_key = c.old_key",
            {},
        )
        for table in KEYED
    ]
