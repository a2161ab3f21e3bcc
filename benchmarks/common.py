"""Shared benchmark plumbing: a private mongod and fresh databases."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from commercepulse.mongo import indexes
from commercepulse.mongo.client import get_database
from commercepulse.mongo.server import ensure_local_mongod

BENCH_HOME = Path(tempfile.gettempdir()) / "commercepulse-bench"


def uri() -> str:
    return ensure_local_mongod(BENCH_HOME / "mongod")


def fresh_db(prefix: str):
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    return get_database(uri(), name)


def drop(db) -> None:
    db.client.drop_database(db.name)
    indexes._done.discard((id(db.client), db.name))
