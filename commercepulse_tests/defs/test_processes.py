"""Worker processes (`commercepulse.lib.processes`): they never outlive the process that started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from commercepulse_tests.harness import alive, fork_servers, pool_workers

#: A process with a second thread (as a Dagster run has), so its pool comes from a fork server;
#: two workers busy for ten minutes.
OWNER = """
import threading, time
from commercepulse.lib.processes import worker_pool

if __name__ == "__main__":
    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
    pool = worker_pool(2)
    busy = [pool.submit(time.sleep, 600) for _ in range(2)]
    print("ready", flush=True)
    time.sleep(600)
"""


def test_workers_and_their_fork_server_end_when_their_owner_is_killed(tmp_path):
    """SIGKILL the process that owns a pool while its workers are busy: the workers (children of
    the fork server, which they keep alive) and the fork server end within seconds."""
    script = tmp_path / "owner.py"
    script.write_text(OWNER)
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while len(pool_workers(owner.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        servers, workers = fork_servers(owner.pid), pool_workers(owner.pid)
        assert len(servers) == 1 and len(workers) == 2
    finally:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 15
    while alive(servers + workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive(servers + workers) == []
