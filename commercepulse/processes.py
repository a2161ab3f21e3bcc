"""Worker processes for CPU-bound work (landing parts, feed and staging chunks, report charts):
one way to start them, and one bounded, ordered way to map over them."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from multiprocessing import get_context
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _die_with_parent() -> None:
    """A worker ends when the process that started it ends, even by SIGKILL (Linux; elsewhere a
    no-op): a killed run leaves no orphan writing to MongoDB."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


#: What workers run: loaded once by the fork server, so a pool's worker starts in milliseconds
#: instead of importing pandas, pymongo and dagster anew (~2 s each).
WORKER_MODULES = [
    "commercepulse.raw.live",
    "commercepulse.staging.feed",
    "commercepulse.staging.stage",
    "commercepulse.reports.charts",
]


def worker_pool(processes: int) -> ProcessPoolExecutor:
    """A pool of `processes` workers that die with this process. Fork where no other thread runs
    (a start costs nothing); else from a fork server (a process with threads, such as a Dagster
    run, must not fork itself: another thread's locks would be copied held), started once per
    process with WORKER_MODULES imported."""
    if os.name != "posix":
        return ProcessPoolExecutor(max_workers=processes, initializer=_die_with_parent)
    if threading.active_count() == 1:
        context = get_context("fork")
    else:
        context = get_context("forkserver")
        context.set_forkserver_preload(WORKER_MODULES)
    return ProcessPoolExecutor(
        max_workers=processes, mp_context=context, initializer=_die_with_parent
    )


def bounded_map(
    pool: ProcessPoolExecutor | None,
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
