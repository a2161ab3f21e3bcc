"""MongoDB faults against real servers: a replica-set primary killed half-way through a landing,
the local server killed and restarted under a running step, two ingestions of the same files
at once, and no secret of MONGO_URI in what a run records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date

import dagster as dg
import pytest
from pymongo import MongoClient, monitoring

from commercepulse.mongo.indexes import RAW
from commercepulse.mongo.server import find_mongod
from commercepulse_tests.harness import definitions, pool_workers, run_job, settings_env

RS = "cprs"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def replica_set(tmp_path):
    """Three `mongod --replSet` members from the project's binary, initiated by the test."""
    ports, procs = [free_port() for _ in range(3)], {}
    for port in ports:
        data = tmp_path / f"rs{port}"
        data.mkdir()
        procs[port] = subprocess.Popen(
            [
                str(find_mongod()),
                "--replSet",
                RS,
                "--port",
                str(port),
                "--bind_ip",
                "127.0.0.1",
                "--dbpath",
                str(data),
                "--logpath",
                str(data / "log"),
                "--wiredTigerCacheSizeGB",
                "0.25",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    first = MongoClient(
        f"mongodb://127.0.0.1:{ports[0]}/?directConnection=true", serverSelectionTimeoutMS=30_000
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            first.admin.command(
                "replSetInitiate",
                {
                    "_id": RS,
                    "settings": {"electionTimeoutMillis": 2000},
                    "members": [
                        {"_id": i, "host": f"127.0.0.1:{p}", "priority": 3 - i}
                        for i, p in enumerate(ports)
                    ],
                },
            )
            break
        except Exception:  # noqa: BLE001 - members still starting
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    uri = f"mongodb://{','.join(f'127.0.0.1:{p}' for p in ports)}/?replicaSet={RS}"
    client = MongoClient(uri, serverSelectionTimeoutMS=60_000)
    client.admin.command("ping")
    while not client.is_primary and time.monotonic() < deadline + 30:
        time.sleep(0.2)
    yield uri, procs
    client.close()
    first.close()
    for proc in procs.values():
        proc.kill()
        proc.wait()


def primary_port(uri: str) -> int:
    client = MongoClient(uri, serverSelectionTimeoutMS=30_000)
    try:
        return int(client.admin.command("hello")["primary"].rsplit(":", 1)[1])
    finally:
        client.close()


@pytest.mark.slow
def test_replica_set_primary_killed_half_way_through_a_landing(replica_set, env, tmp_path):
    uri, procs = replica_set
    from commercepulse.generate.writers import write_live

    [path] = write_live(tmp_path / "live", seed=9, start=date(2025, 4, 1), days=1, events=60_000)
    lines = path.read_bytes().splitlines()
    distinct = {json.loads(line)["event_id"] for line in lines}
    settings = env.model_copy(update={"mongo_uri": uri})
    cmd = [
        sys.executable,
        "-m",
        "commercepulse.cli",
        "ingest",
        "live",
        str(path),
        "--json",
        "--workers",
        "1",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=settings_env(settings), text=True
    )
    watcher = MongoClient(uri, serverSelectionTimeoutMS=30_000)[settings.mongo_db][RAW]
    deadline = time.monotonic() + 120
    while watcher.estimated_document_count() < len(distinct) // 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    killed = primary_port(uri)
    procs[killed].send_signal(signal.SIGKILL)  # the primary dies half-way; a secondary is elected
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    counts = json.loads(out)
    assert (
        counts["lines_read"]
        == len(lines)
        == counts["landed"] + counts["duplicates"] + counts["quarantined"]
    )
    assert counts["landed"] == len(distinct) and counts["quarantined"] == 0
    assert primary_port(uri) != killed
    assert watcher.count_documents({}) == len(distinct)
    assert sum(d["seen_count"] for d in watcher.find({}, {"seen_count": 1})) == len(lines)
    assert {d["_id"] for d in watcher.find({}, {"_id": 1})} == distinct


@pytest.mark.slow
def test_two_ingestions_of_overlapping_files_at_once_neither_lose_nor_double(env, db, tmp_path):
    from commercepulse.generate.writers import write_live

    paths = write_live(tmp_path / "live", seed=21, start=date(2025, 5, 1), days=3, events=15_000)
    lines = sum(len(p.read_bytes().splitlines()) for p in paths)
    distinct = {json.loads(line)["event_id"] for p in paths for line in p.read_bytes().splitlines()}
    first = [
        sys.executable,
        "-m",
        "commercepulse.cli",
        "ingest",
        "live",
        *map(str, paths),
        "--json",
    ]
    second = [
        sys.executable,
        "-m",
        "commercepulse.cli",
        "ingest",
        "live",
        *map(str, paths[1:]),
        "--json",
    ]
    procs = [
        subprocess.Popen(
            c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=settings_env(env), text=True
        )
        for c in (first, second)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1][-2000:] for r in results]
    counts = [json.loads(out) for out, _ in results]
    assert sum(c["landed"] for c in counts) == len(distinct) == db[RAW].count_documents({})
    # every line is one sighting, whichever process read it first: nothing doubled
    assert sum(d["seen_count"] for d in db[RAW].find({}, {"seen_count": 1})) == lines


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "worker-processes"])
def test_mongod_killed_under_a_running_step_is_retried_and_converges(
    tmp_path, datapack, workers, monkeypatch
):
    """The local mongod dies under a running step: as staging's own process sends its first read,
    or as worker processes start to read chunks (the error then surfaces from a worker). The step
    retries (RetryRequested with backoff), the product restarts its local server, and the run
    completes."""
    from commercepulse.mongo.server import ensure_local_mongod, running_uri, stop_local_mongod
    from commercepulse.settings import Settings

    settings = Settings(
        mongo_uri=None,
        mongo_db="retry_test",
        commercepulse_home=tmp_path / "home",
        duckdb_path=tmp_path / "wh.duckdb",
        data_dir=datapack,
        reports_dir=tmp_path / "reports",
        workers=workers,
    )
    state = settings.mongod_dir
    ensure_local_mongod(state)
    import commercepulse.staging.stage as stage

    monkeypatch.setattr(stage, "PARALLEL_MIN_EVENTS", 0)  # the data pack's year is small
    defs = definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    assert run_job(defs, "bootstrap_job", instance).success

    killed = threading.Event()
    stop = threading.Event()

    def kill() -> None:
        if not killed.is_set():
            killed.set()
            os.kill(int((state / "pid").read_text()), signal.SIGKILL)

    class KillOnFirstRead(monitoring.CommandListener):
        """In process: the server dies as staging sends its first read of events_raw."""

        def started(self, event):
            if workers == 1 and event.command_name == "find" and event.command.get("find") == RAW:
                kill()

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    monitoring.register(KillOnFirstRead())  # clients created from now on report their commands
    from commercepulse.mongo.client import _client

    _client.cache_clear()

    def kill_on_cue() -> None:
        """With workers: the server dies as worker processes start (they read the chunks)."""
        while workers > 1 and not stop.is_set() and not killed.is_set():
            if pool_workers(os.getpid()):
                kill()
            time.sleep(0.002)

    thread = threading.Thread(target=kill_on_cue, daemon=True)
    thread.start()
    try:
        result = run_job(
            defs, "business_day_job", instance, "2023-01-01", "2023-12-31", raise_on_error=False
        )
    finally:
        stop.set()
        thread.join()
    assert killed.is_set()
    assert result.success, [e.message for e in result.get_step_failure_events()]
    retried = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retried, "the step should have been retried after the server died"
    # where the failure surfaced: a worker's error comes back with its remote traceback
    remote = "_RemoteTraceback" in str(retried[0].event_specific_data)
    assert remote == (workers > 1)
    assert running_uri(state) is not None  # restarted by the product
    stop_local_mongod(state)


def test_mongo_uri_password_never_reaches_what_a_run_records(env, db, tmp_path, capfd):
    """Credentials come from the environment (dg.EnvVar): the run's config, events and logs hold no secret."""
    secret = "s3cr3t-Pa55w0rd"
    db.client.admin.command("createUser", "cp_reader", pwd=secret, roles=["root"])
    try:
        host = env.mongo_uri.split("//", 1)[1]
        uri = f"mongodb://cp_reader:{secret}@{host}&authSource=admin"
        folder = tmp_path / "data" / "live_events" / "2025-01-15"
        folder.mkdir(parents=True)
        (folder / "events.jsonl").write_text(
            json.dumps(
                {
                    "event_id": "s1",
                    "event_type": "order_created",
                    "event_time": "2025-01-15T10:00:00Z",
                    "vendor": "vendor_a",
                    "payload": {},
                    "ingested_at": "2025-01-15T10:00:00Z",
                }
            )
            + "\n"
        )
        settings = env.model_copy(update={"mongo_uri": uri, "data_dir": tmp_path / "data"})
        os.environ["MONGO_URI"] = uri
        try:
            defs = definitions(settings)
            instance = dg.DagsterInstance.ephemeral()
            result = run_job(defs, "ingest_job", instance, "2025-01-15")
        finally:
            del os.environ["MONGO_URI"]
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        recorded = json.dumps(run.run_config, default=str) + json.dumps(
            [str(e) for e in instance.all_logs(result.run_id)], default=str
        )
        out, err = capfd.readouterr()
        assert secret not in recorded and secret not in out and secret not in err
        assert db.client[settings.mongo_db][RAW].count_documents({"_id": "s1"}) == 1
    finally:
        db.client.admin.command("dropUser", "cp_reader")
