"""The pages' cache: what they compute from data that changes rarely (the team tree, the filter options,
survey scores, the overview table, a team's charts), kept under keys made from the version of that data
(``metrics.core.versions.data_version``, the newest snapshot row), so that the very next request after
a change computes afresh: nothing is ever invalidated, a changed key simply misses.

Two levels: this process's memory first (a hit is a dict lookup: no network, no unpickling, which for a
dict of a thousand small objects cost 10 ms and more once the garbage collector joined in), then the
shared Django cache (Redis in production, so that one worker's computation serves the others).  A value
in memory is shared by every thread of the process: callers treat what they get as read-only.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.core.cache import cache as shared_cache

# Part of every key: raise it when what a cache holds changes shape, so that a new release never reads
# values written by the one before (both share Redis while a deployment rolls).
FORMAT = "f2"
DEFAULT_SECONDS = 7 * 86400  # keys follow the data; the timeout only bounds the shared cache's memory
LOCAL_CHARS = 12_000_000  # what this process keeps, text counted by characters (at most ~25 MB)
_MISSING = object()


def key(name: str, *parts: object) -> str:
    """A cache key for ``name`` and everything the value depends on (``parts``, by their repr: pass
    versions, ids and sorted collections, never sets)."""
    return f"sextant:web:{FORMAT}:{name}:{hashlib.sha256(repr(parts).encode()).hexdigest()[:40]}"


def _size(value: object, depth: int = 0) -> int:
    """Roughly how much memory ``value`` holds (text by characters), looking a few levels deep."""
    if isinstance(value, str):
        return 64 + len(value)
    if depth < 4 and isinstance(value, (tuple, list)):
        return 64 + sum(_size(item, depth + 1) for item in value)
    if depth < 4 and isinstance(value, dict):
        return 64 + sum(_size(item, depth + 1) for item in value.values())
    return 64


class LocalFirstCache:
    """``get_or_set`` with the Django cache's signature, answered from this process's memory when it can
    (least recently used entries leave first, beyond ``LOCAL_CHARS``)."""

    def __init__(self, limit: int = LOCAL_CHARS) -> None:
        self.limit = limit
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()

    def get_or_set(self, key: str, default: Callable[[], Any], timeout: int = DEFAULT_SECONDS) -> Any:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found[0]
        value = shared_cache.get(key, _MISSING)
        if value is _MISSING:
            value = default()
            shared_cache.set(key, value, timeout)
        self._remember(key, value)
        return value

    def _remember(self, key: str, value: Any) -> None:
        size = _size(value)
        with self._lock:
            if key in self._entries:
                self._used -= self._entries.pop(key)[1]
            self._entries[key] = (value, size)
            self._used += size
            while self._used > self.limit and len(self._entries) > 1:
                self._used -= self._entries.popitem(last=False)[1][1]

    def clear(self) -> None:
        """Forget what this process holds (the shared cache is left alone)."""
        with self._lock:
            self._entries.clear()
            self._used = 0


cache = LocalFirstCache()
