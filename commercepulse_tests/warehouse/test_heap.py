"""glibc's heap: big buffers stay in their own mappings, and free heap pages go back to the system.

Each case runs in a fresh interpreter: mallopt settings last for the process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")

#: frees one 4 MiB buffer (glibc then raises its mmap threshold past 1 MiB unless it is fixed),
#: then allocates 64 buffers of 1 MiB, each followed by a 64 KiB block kept alive (it pins the
#: heap), and frees the big ones: the heap's bytes (main arena), its free bytes and the resident
#: anonymous memory (MiB), then the same after a trim
CHILD = textwrap.dedent(
    """
    import ctypes, json, sys
    import numpy as np
    from commercepulse.lib import heap

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks",
                    "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    libc.malloc.restype = ctypes.c_void_p

    def heap_mib():
        info = libc.mallinfo2()
        with open("/proc/self/status") as status:
            anon = next(int(l.split()[1]) for l in status if l.startswith("RssAnon"))
        return {"arena": info.arena >> 20, "free": info.fordblks >> 20, "rss_anon": anon >> 10}

    fixed = heap.keep_big_buffers_mapped() if sys.argv[1] == "fixed" else None
    big = np.ones((4 << 20) // 8)
    del big
    buffers, kept = [], []
    for _ in range(64):
        buffers.append(np.ones((1 << 20) // 8))
        kept.append(libc.malloc(64 * 1024))
    del buffers
    before = heap_mib()
    trimmed = heap.return_free_heap()
    print(json.dumps({"fixed": fixed, "before": before, "after": heap_mib(), "trimmed": trimmed}))
    """
)


def heap_after(mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def test_by_default_freed_big_buffers_stay_in_the_heap_until_trimmed() -> None:
    figures = heap_after("dynamic")
    assert figures["before"]["arena"] >= 64 and figures["before"]["free"] >= 60
    # the trim gives the free pages back: the arena's span stays (the small blocks hold it)
    assert figures["trimmed"] is True
    assert figures["before"]["rss_anon"] - figures["after"]["rss_anon"] >= 56


def test_a_fixed_threshold_keeps_big_buffers_out_of_the_heap() -> None:
    figures = heap_after("fixed")
    assert figures["fixed"] is True
    assert figures["before"]["arena"] < 16 and figures["before"]["free"] < 8
    dynamic = heap_after("dynamic")
    assert dynamic["before"]["rss_anon"] - figures["before"]["rss_anon"] >= 56
