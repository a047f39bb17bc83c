"""Process memory tuning for the analytics recompute.

The recompute allocates and frees hundreds of arrays of 1-30 MB.  glibc hands each such block back to
the kernel on free (mmap/munmap), so every recompute touches fresh pages again; on virtual machines
where a page fault is expensive that doubled the recompute's wall time (bench/analytics.py: 6.1 s ->
3.7 s at 1M PRs, system time 2.1 s -> 0.1 s).  ``keep_freed_memory`` tells glibc to serve blocks up to
32 MB from its heap and keep up to 1 GiB of freed memory for reuse.  The cost: the process keeps its
high-water mark of memory (about 0.9 GB at 1M PRs: bench/analytics.py) instead of returning it
between recomputes.
No-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -2, -3, -8


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
