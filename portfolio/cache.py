"""The cache every process shares: Django's own Redis backend, made to miss instead of fail.

The failed-token counters (accounts/authentication.py) must be shared between the web
processes, and the product list's filter options are worth building once for all of them, so
with REDIS_URL set the cache lives in Redis. Redis going away must not turn a page or an API
call into a 500 (docs/operations.md, "Failure behaviour"): while it is unreachable every read
misses and every write is dropped, and after a failure the process leaves Redis alone for
CACHE_BACKOFF seconds, so requests do not each wait for the connect timeout.

`clear()` removes only this cache's keys (its KEY_PREFIX), never the whole Redis database:
Celery's queues may live in the same database, and parallel test workers each use a prefix
of their own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

log = logging.getLogger(__name__)

T = TypeVar("T")
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

# Until when (time.monotonic()) this process skips Redis after a failure.
_down_until = 0.0


class KeptClient(RedisCacheClient):
    """Django's Redis cache client, keeping one `redis.Redis` per connection pool.

    Django makes a new `redis.Redis` for every cache call; with redis-py 8 that costs more
    than the round trip to Redis itself (about 0.2 ms against 0.1 ms on a quiet machine), and
    every token call makes one (the failed-attempt counter). A `redis.Redis` holds no
    connection of its own (the pool does, and is safe across threads and forks), so one per
    pool serves every call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own helpers (not in its type stubs): the pool's index, then the pool.
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._clients[index] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = KeptClient

    def _guard(self, call: Callable[[], T], fallback: T) -> T:
        global _down_until
        if time.monotonic() < _down_until:
            return fallback
        try:
            return call()
        except UNREACHABLE as exc:
            _down_until = time.monotonic() + getattr(settings, "CACHE_BACKOFF", 5.0)
            log.warning("Cache unreachable, answering without it: %s", exc)
            return fallback

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._guard(lambda: super(RedisCache, self).add(key, value, timeout, version), False)

    def get(self, key, default=None, version=None) -> Any:
        return self._guard(lambda: super(RedisCache, self).get(key, default, version), default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        self._guard(lambda: super(RedisCache, self).set(key, value, timeout, version), None)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._guard(lambda: super(RedisCache, self).touch(key, timeout, version), False)

    def delete(self, key, version=None) -> bool:
        return self._guard(lambda: super(RedisCache, self).delete(key, version), False)

    def get_many(self, keys, version=None) -> dict:
        return self._guard(lambda: super(RedisCache, self).get_many(keys, version), {})

    def has_key(self, key, version=None) -> bool:
        return self._guard(lambda: super(RedisCache, self).has_key(key, version), False)

    def incr(self, key, delta=1, version=None) -> int:
        """The new value; 0 while Redis is unreachable (nothing is counted then)."""
        return self._guard(lambda: super(RedisCache, self).incr(key, delta, version), 0)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None) -> list:
        return self._guard(lambda: super(RedisCache, self).set_many(data, timeout, version), [])

    def delete_many(self, keys, version=None) -> None:
        self._guard(lambda: super(RedisCache, self).delete_many(keys, version), None)

    def clear(self) -> None:
        """Delete this cache's keys (those under its KEY_PREFIX) and nothing else."""
        pattern = f"{self.key_prefix}:*"  # Django's keys are "<prefix>:<version>:<key>"

        def delete_mine() -> None:
            client = self._cache.get_client(None, write=True)  # type: ignore[attr-defined]
            keys = list(client.scan_iter(match=pattern, count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])

        self._guard(delete_mine, None)
