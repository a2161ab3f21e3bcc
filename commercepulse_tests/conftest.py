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


def _apply(monkeypatch, values: dict[str, str]):
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(scope="session")
def datapack_world(tmp_path_factory, mongo_uri, mongo_home):
    """The whole platform run once on the data pack (read-only for the tests that use it)."""
    if not (DATAPACK / "bootstrap").is_dir():
        pytest.skip("../shared/datapack is absent")
    import dagster as dg

    from commercepulse.pipeline import run_all

    base = tmp_path_factory.mktemp("datapack_world")
    values = {"MONGO_URI": mongo_uri, "MONGO_DB": f"dp_{uuid.uuid4().hex[:8]}", "COMMERCEPULSE_HOME": str(mongo_home),
              "DUCKDB_PATH": str(base / "wh.duckdb"), "DATA_DIR": str(DATAPACK), "REPORTS_DIR": str(base / "reports"),
              "DAGSTER_HOME": str(base / "dagster")}
    with pytest.MonkeyPatch.context() as mp:
        settings = _apply(mp, values)
        result = run_all(settings, say=lambda _: None, instance=dg.DagsterInstance.ephemeral())
    get_settings.cache_clear()
    yield values, result
    from commercepulse.mongo.resource import get_database
    get_database(mongo_uri, values["MONGO_DB"]).client.drop_database(values["MONGO_DB"])


@pytest.fixture
def datapack_env(datapack_world, monkeypatch):
    """Settings pointing at the shared data-pack world (do not modify it)."""
    values, result = datapack_world
    yield _apply(monkeypatch, values), result
    get_settings.cache_clear()


@pytest.fixture
def datapack_copy(datapack_world, monkeypatch, tmp_path):
    """A private copy of the data-pack world (MongoDB database, DuckDB file, reports) to modify."""
    import shutil

    from commercepulse.mongo.resource import get_database

    values, result = datapack_world
    source = get_database(values["MONGO_URI"], values["MONGO_DB"])
    name = f"{values['MONGO_DB']}_{uuid.uuid4().hex[:6]}"
    for collection in source.list_collection_names():
        source[collection].aggregate([{"$match": {}}, {"$out": {"db": name, "coll": collection}}])
    shutil.copy(values["DUCKDB_PATH"], tmp_path / "wh.duckdb")
    shutil.copytree(values["REPORTS_DIR"], tmp_path / "reports")
    copy = {**values, "MONGO_DB": name, "DUCKDB_PATH": str(tmp_path / "wh.duckdb"),
            "REPORTS_DIR": str(tmp_path / "reports")}
    settings = _apply(monkeypatch, copy)
    db = get_database(settings.mongo_uri, name)
    yield settings, result
    db.client.drop_database(name)
    indexes._done.discard((id(db.client), name))
    get_settings.cache_clear()
