"""Test harness only: start the `bqemulator` BigQuery emulator (never imported by the product).

Two workarounds, both local to the harness:
- the emulator loads DuckDB's spatial extension at start and cannot download it here: the
  file shipped in the `duckdb-extension-spatial` wheel is copied where DuckDB looks for it;
- google-cloud-bigquery's multipart upload sends the media part as `*/*`, which the
  emulator's whitelist rejects: `*/*` is added to that whitelist before the app starts.

Run as `python -m commercepulse_tests.bq_emulator --rest-port N ...` (same flags as
`bqemulator start`).
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path


def install_spatial_extension() -> Path:
    import duckdb
    import duckdb_extension_spatial

    version = f"v{duckdb.__version__}"
    shipped = Path(duckdb_extension_spatial.__file__).parent / "extensions" / version / "spatial.duckdb_extension"
    platform = duckdb.execute("PRAGMA platform").fetchone()[0]
    target = Path.home() / ".duckdb" / "extensions" / version / platform / "spatial.duckdb_extension"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shipped, target)
    return target


def main(argv: list[str]) -> None:
    install_spatial_extension()
    from bqemulator.api.routes import upload
    from bqemulator.cli import main as cli

    if "*/*" not in upload._PERMITTED_MEDIA_CONTENT_TYPES:
        upload._PERMITTED_MEDIA_CONTENT_TYPES = (*upload._PERMITTED_MEDIA_CONTENT_TYPES, "*/*")
    cli(["start", *argv], standalone_mode=True)


if __name__ == "__main__":
    main(sys.argv[1:])


# -- used by the tests ------------------------------------------------------------------------
import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from dagster_gcp import BigQueryResource  # noqa: E402


class EmulatorBigQuery(BigQueryResource):
    """dagster-gcp's BigQueryResource pointed at the emulator: its endpoint, anonymous credentials."""

    api_endpoint: str

    @contextmanager
    def get_client(self):
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        yield bigquery.Client(project=self.project, credentials=AnonymousCredentials(),
                              client_options=ClientOptions(api_endpoint=self.api_endpoint))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_emulator(project: str, log_path: Path, timeout_s: float = 60) -> Iterator[str]:
    """Start the emulator on free ports; yields its REST endpoint; stops it afterwards."""
    rest, grpc = free_port(), free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "commercepulse_tests.bq_emulator", "--rest-port", str(rest), "--grpc-port",
             str(grpc), "--project", project, "--log-level", "warning"],
            stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1], env=os.environ.copy())
    endpoint = f"http://127.0.0.1:{rest}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/bigquery/v2/projects/{project}/datasets", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"bqemulator did not start; see {log_path}:\n{log_path.read_text()[-2000:]}")
                time.sleep(0.3)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


from commercepulse.warehouse.bigquery_warehouse import BigQueryWarehouse  # noqa: E402


class EmulatorWarehouse(BigQueryWarehouse):
    """The product's BigQuery warehouse with one harness workaround: the emulator does not bind
    query parameters inside a multi-statement script ("Values were not provided for the following
    prepared statement parameters"), so a parameterized transaction runs its statements one by
    one here. Real BigQuery runs the product's script as one transaction; its text is unit-tested."""

    def _script(self, client, statements, params) -> None:
        if len(statements) > 1 and any("@" in s for s in statements):
            for statement in statements:
                self._run(client, statement, params)
            return
        super()._script(client, statements, params)
