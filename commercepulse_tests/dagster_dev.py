"""Test harness: `dagster dev` (webserver and daemon) in a subprocess, and its GraphQL API, as
the analysts' browser and the Launchpad use it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def dagster_dev(target: list[str], env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`dagster dev <target>` from the project folder until the block ends; yields its URL."""
    port = free_port()
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster"), "dev", *target, "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"{url}/server_info", timeout=2)
                    break
                except OSError:
                    time.sleep(1)
            else:
                pytest.fail("dagster dev did not answer: " + log_path.read_text()[-3000:])
            yield url
        finally:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)


def graphql(url: str, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


LAUNCH_BACKFILL = """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""


def launch_backfill(url: str, assets: list[str], partitions: list[str]) -> str:
    """A backfill launched as the UI launches one; returns its id."""
    launched = graphql(
        url,
        LAUNCH_BACKFILL,
        {"p": {"assetSelection": [{"path": [a]} for a in assets], "partitionNames": partitions}},
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]


def wait_for(what: str, probe, timeout: float = 240, every: float = 0.5):
    """probe() until truthy (returned), or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
