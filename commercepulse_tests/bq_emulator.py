"""Test harness only (never imported by the product): run the BigQuery emulator for a test
session and point the product's BigQuery warehouse at it. The emulator process itself is
started through `bq_emulator_launcher.py`, which holds the two start-up workarounds."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster_gcp import BigQueryResource

from commercepulse.warehouse.bigquery_warehouse import BigQueryWarehouse


class EmulatorBigQuery(BigQueryResource):
    """dagster-gcp's BigQueryResource pointed at the emulator: its endpoint, anonymous credentials."""

    api_endpoint: str

    @contextmanager
    def get_client(self):
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        yield bigquery.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=self.api_endpoint),
        )


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
            [
                sys.executable,
                "-m",
                "commercepulse_tests.bq_emulator_launcher",
                "--rest-port",
                str(rest),
                "--grpc-port",
                str(grpc),
                "--project",
                project,
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[1],
            env=os.environ.copy(),
        )
    endpoint = f"http://127.0.0.1:{rest}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                urllib.request.urlopen(
                    f"{endpoint}/bigquery/v2/projects/{project}/datasets", timeout=2
                ).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"bqemulator did not start; see {log_path}:\n{log_path.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.3)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


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
