"""Garbage collection in long-running web processes.

CPython's cyclic collector walks every tracked container object of the generation it
collects. A web worker of this project holds ~400,000 long-lived ones (Django, DRF,
TensorFlow and the loaded model), and each search allocates ~1,800 short-lived ones, so
about every 300 requests a full collection walks them all: 240 ms on the benchmark
machine (measured with ``gc.callbacks`` on the bench.search_load catalogue), a pause
that the request being served waits out and CPU that every other request loses; all
collections together cost 1.3 ms per search. ``gc.freeze()`` moves the objects alive at
that moment to a permanent generation that collections skip: afterwards a full
collection took 12 ms and all of them 0.7 ms per search.

Frozen objects are still freed when their last reference goes; only reference cycles
among them would stay. So the heap is frozen when the long-lived objects exist (once
the WSGI application is built, and again after the recommender loads a model), and
unfrozen and collected first, so that the cycles of a replaced model are collected.
"""

from __future__ import annotations

import gc
import logging
import time

logger = logging.getLogger(__name__)

# Off until a long-running server process turns it on (config/wsgi.py): tests, commands
# and workers that build and drop models keep the collector's default behaviour.
_enabled = False


def heap_freeze_enable() -> None:
    """Freeze the heap now and after every later ``heap_freeze()`` of this process."""
    global _enabled
    _enabled = True
    heap_freeze()


def heap_freeze_disable() -> None:
    """Stop freezing and give every frozen object back to the collector."""
    global _enabled
    _enabled = False
    gc.unfreeze()


def heap_freeze() -> None:
    """Collect the garbage, then exempt every live object from later collections.

    Does nothing unless ``heap_freeze_enable()`` ran in this process. Called when a
    process has just created long-lived objects (a newly loaded model)."""
    if not _enabled:
        return
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    logger.debug(
        "Heap frozen: %d objects, %.0f ms",
        gc.get_freeze_count(),
        (time.perf_counter() - started) * 1000,
    )
