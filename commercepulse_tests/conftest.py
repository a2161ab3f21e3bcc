"""Fixtures: one real mongod for the session (started by the product's own manager), a fresh
database per test, and the data pack (tests that need it skip cleanly when it is absent)."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from commercepulse.mongo import indexes
from commercepulse.mongo.server import ensure_local_mongod, stop_local_mongod
from commercepulse.settings import get_settings

DATAPACK = Path(__file__).resolve().parents[2] / "shared" / "datapack"


@pytest.fixture(scope="session")
def mongo_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cphome")
    yield home
    stop_local_mongod(home / "mongod")


@pytest.fixture(scope="session")
def mongo_uri(mongo_home) -> str:
    return ensure_local_mongod(mongo_home / "mongod")


@pytest.fixture
def env(monkeypatch, tmp_path, mongo_home, mongo_uri):
    """Settings for one test: its own database, DuckDB file, data and reports folders."""
    db_name = f"t_{uuid.uuid4().hex[:10]}"
    values = {"MONGO_URI": mongo_uri, "MONGO_DB": db_name, "COMMERCEPULSE_HOME": str(mongo_home),
              "DUCKDB_PATH": str(tmp_path / "wh.duckdb"), "DATA_DIR": str(tmp_path / "data"),
              "REPORTS_DIR": str(tmp_path / "reports"), "DAGSTER_HOME": str(tmp_path / "dagster")}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def db(env):
    from commercepulse.mongo.resource import get_database

    database = get_database(env.mongo_uri, env.mongo_db)
    yield database
    database.client.drop_database(database.name)
    indexes._done.discard((id(database.client), database.name))


@pytest.fixture
def datapack() -> Path:
    if not (DATAPACK / "bootstrap").is_dir():
        pytest.skip("../shared/datapack is absent")
    return DATAPACK
