"""Search cache generations and the per-process level of the two-level matches cache.

Lexical results (total, facets, the re-rank window, the query's rules) are cached per
query and filters for ``settings.SEARCH_CACHE_SECONDS`` in the shared cache, and each
process keeps the ones it used last in front of it (``LocalMatches``). Saving a
product, category, brand or rule starts a new generation (shop.receivers), which is
part of every key; so does saving or deleting a staff synonym (below: they change what
a query retrieves).
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from shop.caching import cache_add, cache_get, cache_incr, cache_set
from shop.models import Synonym

SEARCH_GENERATION_KEY = "shop:search:generation"
# A process re-reads the shared generation at most once per this many seconds: a save
# in the same process shows at once, one in another process within this delay. Saves a
# cache round trip per search (under load every round trip waits for a free core).
GENERATION_REFRESH_SECONDS = 1.0
# (generation, time.monotonic() when read) of this process.
_generation_seen: list = [None, 0.0]


def search_cache_invalidate() -> None:
    """Start a new generation of cached search results (the catalogue or rules changed)."""
    if cache_incr(SEARCH_GENERATION_KEY) is None:
        # No generation yet (or evicted): any new value will do.
        cache_set(SEARCH_GENERATION_KEY, _new_generation(), None)
    # After the new generation exists: a search in another thread of this process that
    # read the old one in between does not keep it.
    _generation_seen[:] = [None, 0.0]
    local_matches.clear()


# Connected here rather than in shop.receivers (which does the catalogue and rules): the
# synonyms' expansion (shop.search.synonyms) relies on it, and this module always loads.
@receiver(post_save, sender=Synonym, dispatch_uid="shop.search_cache.synonym_saved")
@receiver(post_delete, sender=Synonym, dispatch_uid="shop.search_cache.synonym_deleted")
def synonyms_changed(sender, **kwargs) -> None:
    # Now, and once committed (a search in between must not keep the old expansion).
    search_cache_invalidate()
    transaction.on_commit(search_cache_invalidate, robust=True)


def _new_generation() -> int:
    return int.from_bytes(hashlib.sha1(str(uuid.uuid4()).encode()).digest()[:6], "big")


def search_generation() -> int:
    """The current generation; 0 when the shared cache is unreachable."""
    generation, read_at = _generation_seen
    now = time.monotonic()
    if generation is not None and now - read_at < GENERATION_REFRESH_SECONDS:
        return generation
    generation = cache_get(SEARCH_GENERATION_KEY)
    if generation is None:
        cache_add(SEARCH_GENERATION_KEY, _new_generation(), None)
        generation = cache_get(SEARCH_GENERATION_KEY) or 0
    _generation_seen[:] = [generation, now]
    return generation


class Sized(Protocol):
    def approximate_size(self) -> int: ...


class LocalMatches:
    """A second cache level in front of the shared one: each process keeps the matches
    it used last, up to ``settings.SEARCH_LOCAL_CACHE_BYTES`` of them (least recently
    used out first) and each for ``settings.SEARCH_LOCAL_CACHE_SECONDS``.

    A hit saves the shared cache's round trip and unpickling the entry. Entries are
    keyed like the shared cache, generation included, and a new generation empties
    this level, so saves show here as soon as the process sees the new generation
    (``GENERATION_REFRESH_SECONDS``); bulk updates that send no signal show after both
    levels' lifetimes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, int, Sized]] = OrderedDict()
        self._bytes = 0
        self._generation: int | None = None

    def get(self, key: str, generation: int) -> Sized | None:
        now = time.monotonic()
        with self._lock:
            if generation != self._generation:
                self._reset(generation)
                return None
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, size, found = entry
            if expires <= now:
                del self._entries[key]
                self._bytes -= size
                return None
            self._entries.move_to_end(key)
            return found

    def put(self, key: str, generation: int, found: Sized) -> None:
        budget = getattr(settings, "SEARCH_LOCAL_CACHE_BYTES", 32 * 2**20)
        size = found.approximate_size()
        if size > budget:  # also: a budget of 0 turns this level off
            return
        expires = time.monotonic() + getattr(settings, "SEARCH_LOCAL_CACHE_SECONDS", 60)
        with self._lock:
            if generation != self._generation:
                self._reset(generation)
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= previous[1]
            self._entries[key] = (expires, size, found)
            self._bytes += size
            while self._bytes > budget:
                _, (_, evicted, _) = self._entries.popitem(last=False)
                self._bytes -= evicted

    def clear(self) -> None:
        with self._lock:
            self._reset(None)

    def _reset(self, generation: int | None) -> None:
        self._entries.clear()
        self._bytes = 0
        self._generation = generation

    def __len__(self) -> int:
        return len(self._entries)


local_matches = LocalMatches()
