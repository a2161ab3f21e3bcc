"""Worker processes for CPU-bound work (landing parts, feed and staging chunks, report charts):
one way to start them, and one bounded, ordered way to map over them."""

from __future__ import annotations

import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from itertools import islice
from multiprocessing import get_context
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _die_with(owner: int) -> None:
    """A worker ends when the process that asked for the pool (`owner`) ends, even by SIGKILL: a
    killed run leaves no orphan writing to MongoDB or waiting forever for work. Forked by this
    process, the kernel sees to it (PR_SET_PDEATHSIG, Linux). Forked by a fork server, whose
    workers keep it alive (by design, they hold its liveness pipe), a thread waits on `owner`."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != owner:
        threading.Thread(
            target=_exit_when_gone, args=(owner,), name="watch-owner", daemon=True
        ).start()


def _exit_when_gone(pid: int) -> None:
    """Exit this worker at once when process `pid` has ended (a pidfd turns readable; elsewhere,
    polled every second)."""
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):
        handle = None
    if handle is not None:
        select.select([handle], [], [])
        os._exit(1)
    while True:
        time.sleep(1.0)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass


#: What workers run: loaded once by the fork server, so a pool's worker starts in milliseconds
#: instead of importing pandas, pymongo and dagster anew (~2 s each).
WORKER_MODULES = [
    "commercepulse.raw.live",
    "commercepulse.staging.feed",
    "commercepulse.staging.stage",
]


def worker_pool(processes: int) -> ProcessPoolExecutor:
    """A pool of `processes` workers that die with this process (`_die_with`). Fork where no
    other thread runs (a start costs nothing); else from a fork server (a process with threads, such as a Dagster
    run, must not fork itself: another thread's locks would be copied held), started once per
    process with WORKER_MODULES imported."""
    if os.name != "posix":
        return ProcessPoolExecutor(
            max_workers=processes, initializer=_die_with, initargs=(os.getpid(),)
        )
    if threading.active_count() == 1:
        context = get_context("fork")
    else:
        context = get_context("forkserver")
        context.set_forkserver_preload(WORKER_MODULES)
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=_die_with,
        initargs=(os.getpid(),),
    )


def worth_workers(
    processes: int, address: str | None, chunks: int, events: int, floor: int
) -> bool:
    """Whether a window's chunks go to worker processes: more than one process and one chunk, a
    server address the workers can reach, and at least `floor` events (below it, starting the
    workers costs more than they save)."""
    return processes > 1 and bool(address) and chunks > 1 and events >= floor


def bounded_map(
    pool: Executor | None,
    fn: Callable[[T], R],
    items: Iterable[T],
    ahead: int,
) -> Iterator[R]:
    """`fn` over `items` in order, with at most `ahead` items submitted and not yet consumed: a
    slow consumer (one writer) never lets results pile up in memory. No pool: in this process."""
    if pool is None:
        yield from map(fn, items)
        return
    pending: deque[Future[R]] = deque()
    source = iter(items)
    for item in islice(source, max(1, ahead)):
        pending.append(pool.submit(fn, item))
    while pending:
        result = pending.popleft().result()
        for item in islice(source, 1):
            pending.append(pool.submit(fn, item))
        yield result
