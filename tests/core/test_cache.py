"""metrics.core.cache.RedisCache against the real Redis: Django's cache API unchanged, one client per pool."""

from __future__ import annotations

import threading
import uuid

from metrics.core.cache import RedisCache
from tests import redis_dbs

LOCATION = redis_dbs.CACHE


def _cache() -> RedisCache:
    return RedisCache(LOCATION, {"KEY_PREFIX": f"test-cache-{uuid.uuid4().hex}"})


def test_the_cache_api_behaves_as_djangos_with_one_client_object() -> None:
    cache = _cache()
    assert cache.get("missing", "default") == "default"
    cache.set("answer", {"n": 42, "teams": ["a", "b"]}, 30)
    assert cache.get("answer") == {"n": 42, "teams": ["a", "b"]}
    assert cache.add("answer", 1, 30) is False
    assert cache.get_or_set("hits", 0, 30) == 0
    assert cache.incr("hits") == 1
    assert cache.get_many(["answer", "hits", "none"]) == {"answer": {"n": 42, "teams": ["a", "b"]}, "hits": 1}
    cache.set("gone", 1, 0)  # timeout 0: not stored
    assert cache.get("gone") is None
    cache.delete_many(["answer", "hits"])
    assert cache.get("answer") is None
    client = cache._cache.get_client()
    assert cache._cache.get_client("key", write=True) is client  # one server: one pool, one client


def test_threads_share_the_client_safely() -> None:
    cache = _cache()
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(50):
                cache.set(f"k{i}-{j}", (i, j), 30)
                assert cache.get(f"k{i}-{j}") == (i, j)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cache.get("k7-49") == (7, 49)
    cache._cache.get_client().flushdb()
