"""The shared cache: Redis when REDIS_URL is set, clearing only its own keys, and missing
instead of failing while Redis is unreachable."""

from __future__ import annotations

import os
import socket

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from portfolio import cache as shared_cache
from portfolio.cache import RedisCache


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def no_backoff():
    shared_cache._down_until = 0.0
    yield
    shared_cache._down_until = 0.0


def test_the_cache_is_redis_with_a_prefix_per_test_worker():
    # The tests run with REDIS_URL set (make test sets it), as production does.
    assert settings.REDIS_URL
    default = caches["default"]
    assert isinstance(default, RedisCache)
    assert default.key_prefix == f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def test_clear_removes_only_this_caches_keys():
    mine = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": "test-clear-mine"})
    theirs = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": "test-clear-theirs"})
    raw = redis.Redis.from_url(settings.REDIS_URL)
    try:
        mine.set("a", 1)
        theirs.set("a", 2)
        raw.set("test-clear-celery-queue", "x")
        mine.clear()
        assert mine.get("a") is None
        assert theirs.get("a") == 2
        assert raw.get("test-clear-celery-queue") == b"x"
    finally:
        theirs.clear()
        raw.delete("test-clear-celery-queue")


def test_an_unreachable_redis_misses_instead_of_failing(no_backoff):
    down = RedisCache(
        f"redis://127.0.0.1:{_closed_port()}/0",
        {"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}},
    )
    assert down.get("k", "fallback") == "fallback"
    down.set("k", 1)
    assert down.add("k", 1) is False
    assert down.incr("k") == 0
    down.clear()
    # after a failure the process leaves Redis alone for a while
    assert shared_cache._down_until > 0


def test_while_backing_off_redis_is_not_asked(no_backoff, monkeypatch):
    asked = []
    monkeypatch.setattr(DjangoRedisCache, "get", lambda *args, **kwargs: asked.append(args))
    up = RedisCache(settings.REDIS_URL, {})
    shared_cache._down_until = float("inf")
    assert up.get("k", "fallback") == "fallback"
    assert asked == []


def test_one_redis_client_serves_every_call_and_the_values_are_redis_own():
    """Django makes a `redis.Redis` per call; ours keeps one per pool (it holds no connection
    of its own). Values still go through Redis: another cache object reads them."""
    mine = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": "kept-client-test"})
    other = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": "kept-client-test"})
    try:
        first = mine._cache.get_client("a")
        assert mine._cache.get_client("b", write=True) is first
        assert isinstance(first, redis.Redis)
        mine.set("k", {"n": 1}, timeout=30)
        assert mine.add("k", 2) is False
        assert other.get("k") == {"n": 1}
        mine.delete("k")
        assert other.get("k") is None
    finally:
        mine.clear()
