"""Cache access that never fails a request.

Production settings already tell django-redis to ignore a Redis outage; these helpers
make the same promise for any cache backend a deployment configures: a cache error is
logged and treated as a miss (reads) or skipped (writes), and the caller computes the
value from the database instead.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django_redis.client import DefaultClient

logger = logging.getLogger(__name__)


def cache_get(key: str, default: Any = None) -> Any:
    try:
        return cache.get(key, default)
    except Exception:
        logger.warning("Cache read failed for %s; computing it instead", key, exc_info=True)
        return default


def cache_set(key: str, value: Any, timeout: float | None) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception:
        logger.warning("Cache write failed for %s", key, exc_info=True)


def cache_get_many(keys: list[str]) -> dict[str, Any]:
    """The keys found, with their values; {} when the cache failed."""
    try:
        return cache.get_many(keys)
    except Exception:
        logger.warning("Cache read failed for %d keys", len(keys), exc_info=True)
        return {}


def cache_set_many(values: dict[str, Any], timeout: float | None) -> None:
    try:
        cache.set_many(values, timeout)
    except Exception:
        logger.warning("Cache write failed for %d keys", len(values), exc_info=True)


def cache_add(key: str, value: Any, timeout: float | None) -> bool:
    try:
        return cache.add(key, value, timeout)
    except Exception:
        logger.warning("Cache write failed for %s", key, exc_info=True)
        return False


def cache_incr(key: str) -> int | None:
    """Increment a counter; None when it does not exist or the cache failed."""
    try:
        return cache.incr(key)
    except ValueError:
        return None
    except Exception:
        logger.warning("Cache increment failed for %s", key, exc_info=True)
        return None


def cache_count(key: str, *, timeout: int, backend=cache) -> int | None:
    """Add one to a counter that expires ``timeout`` seconds after its last count
    (created at 1) and return the new count; None when the cache failed."""
    client = getattr(backend, "client", None)
    try:
        if type(client) is DefaultClient:
            return _redis_count(client, key, timeout)
        try:
            return backend.incr(key)
        except ValueError:  # the first count (or the counter was evicted)
            return 1 if backend.add(key, 1, timeout) else backend.incr(key)
    except Exception as error:
        logger.warning("Cache count failed for %s (%s)", key, error)
        return None


def _redis_count(client: DefaultClient, key: str, timeout: int) -> int:
    """``INCR`` and ``EXPIRE`` pipelined: one round trip, where django-redis's own
    ``incr`` runs a Lua script per call."""
    name = client.make_key(key)
    pipe = client.get_client(write=True).pipeline(transaction=False)
    pipe.incr(name)
    pipe.expire(name, timeout)
    count, _ = pipe.execute()
    return int(count)


def cache_delete_many(keys: list[str]) -> None:
    try:
        cache.delete_many(keys)
    except Exception:
        logger.warning("Cache delete failed for %d keys", len(keys), exc_info=True)
