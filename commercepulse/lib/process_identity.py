"""Who a process id is, as the OS says: whether it still runs the process that once had it, and
its command line. Used to tell a dead run worker from a live one after a restart (a PID may be
reused by a later process) and to name the holder of a file lock."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

PROC = Path("/proc")


@cache
def _boot_time() -> float | None:
    try:
        for line in (PROC / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        pass
    return None


def started_at(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), from /proc; None where the OS does not say."""
    boot = _boot_time()
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    if boot is None:
        return None
    # the command name may hold spaces and parentheses: fields start after the last ')'
    fields = stat[stat.rfind(")") + 2 :].split()
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def alive(pid: int) -> bool:
    """The process exists (a zombie counts as gone: it runs nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = (PROC / str(pid) / "stat").read_text()
        return state[state.rfind(")") + 2 :].split()[0] != "Z"
    except OSError:
        return True


def same_process_alive(pid: int, seen_at: float, slack_s: float = 2.0) -> bool:
    """Process `pid` runs and is the one seen at `seen_at` (epoch s): a process of that id started
    after that moment is another one that reused the id."""
    if not alive(pid):
        return False
    start = started_at(pid)
    return start is None or start <= seen_at + slack_s


def command_of(pid: int) -> str | None:
    """The process's command line, where the OS says."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part) or None
