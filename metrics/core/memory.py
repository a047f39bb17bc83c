"""Process memory tuning: glibc's malloc for the analytics recompute, the garbage collector for ingestion.

The recompute allocates and frees hundreds of arrays of 1-30 MB.  glibc hands each such block back to
the kernel on free (mmap/munmap), so every recompute touches fresh pages again; on virtual machines
where a page fault is expensive that doubled the recompute's wall time (bench/analytics.py: 6.1 s ->
3.7 s at 1M PRs, system time 2.1 s -> 0.1 s).  ``keep_freed_memory`` tells glibc to serve blocks up to
32 MB from its heap and keep up to 1 GiB of freed memory for reuse.  The cost: the process keeps its
high-water mark of memory (about 0.9 GB at 1M PRs: bench/analytics.py) instead of returning it
between recomputes.
No-op where the C library is not glibc.

``fewer_collections``: an ingestion allocates millions of small objects that live until the batch is
stored (decoded JSON, records, rows).  With CPython's default threshold a young-generation collection
runs every 700 allocations and, as they survive, older ones scan them again and again: about a third
of the CPU of bench/telemetry.py (Claude Code at 5,000 users x 20 days: 15.6 -> 11.0 s CPU).  Inside
the block the youngest generation is collected every 50,000 allocations instead; cycles are still
freed, a little later.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
import threading
from collections.abc import Iterator

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -2, -3, -8
BULK_THRESHOLDS = (50_000, 20, 100)  # gc thresholds while ingesting (CPython's default: 700, 10, 10)


@functools.cache
def keep_freed_memory() -> bool:
    """Tune glibc malloc once per process (see the module doc); True when it took effect."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    settings = (
        (M_ARENA_MAX, 1),
        (M_MMAP_THRESHOLD, 32 << 20),
        (M_TRIM_THRESHOLD, 1 << 30),
        (M_TOP_PAD, 64 << 20),
    )
    return all(mallopt(option, value) == 1 for option, value in settings)


_gc_lock = threading.Lock()
_gc_users = 0  # blocks inside fewer_collections (threads of one process share the collector)
_gc_saved = gc.get_threshold()


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect garbage less often inside the block (see the module doc); nested and concurrent blocks
    (the OTLP receiver's threads) share one setting, restored when the last one ends."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(*BULK_THRESHOLDS)
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)
