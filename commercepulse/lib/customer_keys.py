"""Pseudonymous customer keys (SPEC §5): an HMAC-SHA256, under a secret salt, of the customer id
when present, else the lower-cased e-mail, else the phone. The same person gets the same key
across vendors and runs; without the salt nobody can turn a key back into an e-mail by hashing
guesses. The salt is CUSTOMER_KEY_SALT, else generated once into the state folder."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd

#: Characters of the hex digest kept (80 bits: no collision among billions of customers).
KEY_HEX = 20


def load_or_create_salt(path: Path) -> str:
    """The salt kept at `path`, generated (32 random bytes, hex, mode 0600) on first use. Written
    to a temporary file and linked into place, so two processes starting at once agree."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{path.name}.{os.getpid()}")
    fresh.write_text(secrets.token_hex(32) + "\n")
    fresh.chmod(0o600)
    try:
        os.link(fresh, path)  # fails if another process linked first: theirs wins
    except FileExistsError:
        pass
    finally:
        fresh.unlink(missing_ok=True)
    return path.read_text().strip()


def key_source(customer_id: pd.Series, email: pd.Series, phone: pd.Series) -> pd.Series:
    """What a key is made of: `id:<customer id>`, else `email:<lower-cased e-mail>`, else
    `phone:<phone>` (the kind named, so an id that looks like an e-mail keys apart from it)."""
    ids = "id:" + customer_id.astype("string")
    emails = "email:" + email.astype("string").str.strip().str.lower()
    phones = "phone:" + phone.astype("string").str.strip()
    return ids.fillna(emails).fillna(phones)


def keys_of(rows: pd.DataFrame, salt: str) -> pd.Series:
    """The key of each row of a frame with `customer_id`, `email` and `phone` columns."""
    return customer_keys(key_source(rows["customer_id"], rows["email"], rows["phone"]), salt)


def customer_keys(source: pd.Series, salt: str) -> pd.Series:
    """`ck_` + KEY_HEX hex characters of HMAC-SHA256(salt, source); null stays null. Each
    distinct source is hashed once."""
    codes, uniques = pd.factorize(source, use_na_sentinel=True)
    key = salt.encode()
    hashed = [
        "ck_" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:KEY_HEX]
        for value in uniques
    ]
    out = pd.Series(pd.array([None] * len(source), dtype="string"), index=source.index)
    present = codes >= 0
    if present.any():
        out[present] = pd.array(hashed, dtype="string")[codes[present]]
    return out
