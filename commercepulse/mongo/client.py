"""MongoDB access: one cached client per URI, shared by the CLI and the Dagster resource."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import ConnectionFailure

from commercepulse.errors import ServiceUnreachableError, mongo_unreachable
from commercepulse.mongo.indexes import ensure_indexes
from commercepulse.mongo.server import ensure_local_mongod

#: Bounded waits: a dead server fails a call within seconds (then the step retries), never hangs.
TIMEOUTS = {
    "serverSelectionTimeoutMS": 10_000,
    "connectTimeoutMS": 10_000,
    "socketTimeoutMS": 300_000,
}


@lru_cache(maxsize=8)
def _client(uri: str) -> MongoClient:
    """Retryable reads and writes are on (pymongo's default): a failover is retried once by the driver."""
    lowered = uri.lower()
    timeouts = {
        k: v for k, v in TIMEOUTS.items() if k.lower() not in lowered
    }  # the URI's own options win
    return MongoClient(uri, tz_aware=True, retryWrites=True, retryReads=True, **timeouts)


def resolve_uri(uri: str | None, state_dir: str | Path) -> str:
    """The configured URI, or the one of the project's local mongod (started if needed)."""
    if uri:
        return uri
    return ensure_local_mongod(Path(state_dir))


def get_database(uri: str | None, name: str, state_dir: str | Path | None = None) -> Database:
    """The database (indexes ensured); with no `uri`, the local mongod of `state_dir`."""
    if not uri and state_dir is None:
        raise ValueError("either a MongoDB URI or the local mongod's state folder is needed")
    address = resolve_uri(uri, state_dir or "")
    database = _client(address)[name]
    try:
        ensure_indexes(database)
    except (
        ConnectionFailure
    ) as exc:  # one line naming the (masked) address, never the driver's traceback
        raise ServiceUnreachableError(mongo_unreachable(address, exc)) from exc
    return database
