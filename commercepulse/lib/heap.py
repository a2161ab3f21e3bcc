"""glibc's heap kept to what is in use, so a long run's peak does not grow with its history.

Why: glibc serves an allocation above its mmap threshold from a mapping of its own, returned to
the system on free, but each such free raises the threshold (up to 32 MiB). After the first
staging chunk the big numpy and Arrow buffers of every later one come from the heap instead, and
the heap keeps their pages once they are freed. In `commercepulse run` the heap then grew job by
job and was never returned. Both calls are glibc-only and do nothing elsewhere.
"""

from __future__ import annotations

import ctypes
import functools

#: mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: glibc's default threshold; setting it also turns its dynamic raising off
MMAP_THRESHOLD_BYTES = 128 * 1024
#: free memory at the heap's top kept before glibc gives it back (its default is 128 KiB, but
#: raised along with the mmap threshold)
TRIM_THRESHOLD_BYTES = 1024 * 1024


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return None
    return libc


def keep_big_buffers_mapped() -> bool:
    """Fix glibc's mmap threshold (no dynamic raising) for this process and the processes it
    forks: big buffers stay in their own mappings, given back on free. True when applied."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )


def return_free_heap() -> bool:
    """Give the heap's free pages back to the system (all arenas); True if any were."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
