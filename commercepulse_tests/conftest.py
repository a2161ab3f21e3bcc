"""Fixtures: one real mongod for the session (started by the product's own manager), a fresh
database per test, and the data pack (tests that need it skip cleanly when it is absent)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

# The tests' worlds span 2023 (the data pack's dumps) to 2026: one calendar for all of them, in this
# process and every `dagster dev` / CLI subprocess (which inherit it), instead of the starts each
# world's data would set (lib/data_calendar.py; `test_data_calendar.py` covers that).
os.environ.setdefault("PARTITIONS_START", "2023-01-01")
os.environ.setdefault("INGESTION_START", "2024-01-01")

from commercepulse.mongo import indexes  # noqa: E402
from commercepulse.mongo.server import ensure_local_mongod, stop_local_mongod  # noqa: E402
from commercepulse.settings import Settings  # noqa: E402

DATAPACK = Path(__file__).resolve().parents[2] / "shared" / "datapack"
#: Fixtures built on the session's data-pack world (~30 s to build): `make test` runs on two
#: pytest-xdist workers, and every test that needs the world goes to the same one.
DATAPACK_WORLD_FIXTURES = {
    "datapack_world",
    "datapack_env",
    "datapack_copy",
    "datapack_warehouse_copy",
}


def pytest_itemcollected(item) -> None:
    """Marked as collected, before xdist's `loadgroup` reads the groups."""
    if DATAPACK_WORLD_FIXTURES & set(getattr(item, "fixturenames", ())):
        item.add_marker(pytest.mark.xdist_group("datapack_world"))


@pytest.fixture(scope="session")
def mongo_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cphome")
    yield home
    stop_local_mongod(home / "mongod")


@pytest.fixture(scope="session")
def mongo_uri(mongo_home) -> str:
    return ensure_local_mongod(mongo_home / "mongod")


@pytest.fixture(scope="session")
def postgres_instances(mongo_home):
    """The project's local PostgreSQL (as `make run` starts it) serving fresh Dagster instances."""
    from commercepulse.instance.postgres import ensure_local_postgres, stop_local_postgres
    from commercepulse_tests.harness import PostgresInstances

    # outside pytest's temporary folders: pytest restricts those to its own user, while the server
    # runs as pgserver's system user when the tests run as root
    pgdata = Path(tempfile.mkdtemp(prefix="cp-test-postgres-")) / "pgdata"
    instances = PostgresInstances(ensure_local_postgres(pgdata))
    yield instances
    instances.admin.dispose()
    stop_local_postgres(pgdata)
    shutil.rmtree(pgdata.parent, ignore_errors=True)


@pytest.fixture
def instance(postgres_instances):
    """A fresh persistent Dagster instance (PostgreSQL, the product's default storage)."""
    with postgres_instances.new() as fresh:
        yield fresh


@pytest.fixture
def env(tmp_path, mongo_home, mongo_uri) -> Settings:
    """Settings for one test: its own database, DuckDB file, data and reports folders."""
    return Settings(
        mongo_uri=mongo_uri,
        mongo_db=f"t_{uuid.uuid4().hex[:10]}",
        commercepulse_home=mongo_home,
        duckdb_path=tmp_path / "wh.duckdb",
        data_dir=tmp_path / "data",
        reports_dir=tmp_path / "reports",
    )


@pytest.fixture
def db(env):
    from commercepulse.mongo.client import get_database

    database = get_database(env.mongo_uri, env.mongo_db)
    yield database
    database.client.drop_database(database.name)
    indexes._done.discard((id(database.client), database.name))


@pytest.fixture
def datapack() -> Path:
    if not (DATAPACK / "bootstrap").is_dir():
        pytest.skip("../shared/datapack is absent")
    return DATAPACK


@pytest.fixture(scope="session")
def datapack_world(tmp_path_factory, mongo_uri, mongo_home, postgres_instances):
    """The whole platform run once on the data pack (read-only for the tests that use it)."""
    if not (DATAPACK / "bootstrap").is_dir():
        pytest.skip("../shared/datapack is absent")

    from commercepulse.runner import run_all

    base = tmp_path_factory.mktemp("datapack_world")
    settings = Settings(
        mongo_uri=mongo_uri,
        mongo_db=f"dp_{uuid.uuid4().hex[:8]}",
        commercepulse_home=mongo_home,
        duckdb_path=base / "wh.duckdb",
        data_dir=DATAPACK,
        reports_dir=base / "reports",
    )
    with postgres_instances.new() as instance:
        # no reports: the tests that read one write it (the main job's reports are proven in test_faults)
        result = run_all(settings, say=lambda _: None, instance=instance, reports=False)
    yield settings, result
    from commercepulse.mongo.client import get_database

    get_database(mongo_uri, settings.mongo_db).client.drop_database(settings.mongo_db)


@pytest.fixture
def datapack_env(datapack_world):
    """Settings pointing at the shared data-pack world (do not modify it)."""
    return datapack_world


@pytest.fixture
def datapack_copy(datapack_world, tmp_path):
    """A private copy of the data-pack world (MongoDB database, DuckDB file, reports) to modify."""
    import shutil

    from commercepulse.mongo.client import get_database

    settings, result = datapack_world
    source = get_database(settings.mongo_uri, settings.mongo_db)
    name = f"{settings.mongo_db}_{uuid.uuid4().hex[:6]}"
    for collection in source.list_collection_names():
        source[collection].aggregate([{"$match": {}}, {"$out": {"db": name, "coll": collection}}])
    shutil.copy(settings.duckdb_path, tmp_path / "wh.duckdb")
    (tmp_path / "reports").mkdir()
    copy = settings.model_copy(
        update={
            "mongo_db": name,
            "duckdb_path": tmp_path / "wh.duckdb",
            "reports_dir": tmp_path / "reports",
        }
    )
    db = get_database(copy.mongo_uri, name)
    yield copy, result
    db.client.drop_database(name)
    indexes._done.discard((id(db.client), name))


@pytest.fixture
def datapack_warehouse_copy(datapack_world, tmp_path):
    """A private copy of the data-pack world's DuckDB file only (the settings point at it), for a
    test that changes the warehouse and never MongoDB: no copy of the raw store."""
    import shutil

    settings, result = datapack_world
    shutil.copy(settings.duckdb_path, tmp_path / "wh.duckdb")
    return settings.model_copy(update={"duckdb_path": tmp_path / "wh.duckdb"}), result


@pytest.fixture(scope="module")
def module_env(tmp_path_factory, mongo_home, mongo_uri) -> Settings:
    """Settings shared by a module's run worlds (each world takes its own database and files)."""
    base = tmp_path_factory.mktemp("fault_env")
    return Settings(
        mongo_uri=mongo_uri,
        mongo_db=f"f_{uuid.uuid4().hex[:8]}",
        commercepulse_home=mongo_home,
        duckdb_path=base / "unused.duckdb",
        data_dir=base,
        reports_dir=base / "reports",
    )
