"""MongoDB access: one cached client per URI, used by the CLI and the Dagster resource alike."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import dagster as dg
from pymongo import MongoClient
from pymongo.database import Database

from commercepulse.mongo.indexes import ensure_indexes
from commercepulse.mongo.server import ensure_local_mongod
from commercepulse.settings import get_settings


@lru_cache(maxsize=8)
def _client(uri: str) -> MongoClient:
    return MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=10_000)


def resolve_uri(uri: str | None, state_dir: str | Path | None = None) -> str:
    """The configured URI, or the one of the project's local mongod (started if needed)."""
    if uri:
        return uri
    return ensure_local_mongod(Path(state_dir) if state_dir else get_settings().mongod_dir)


def get_database(uri: str | None, name: str, state_dir: str | Path | None = None) -> Database:
    database = _client(resolve_uri(uri, state_dir))[name]
    ensure_indexes(database)
    return database


class MongoResource(dg.ConfigurableResource):
    """MongoDB connection; with no `uri` it starts (or reuses) the project's local mongod."""

    uri: str | None = None
    database: str = "commercepulse"
    state_dir: str | None = None

    def db(self) -> Database:
        return get_database(self.uri, self.database, self.state_dir)
