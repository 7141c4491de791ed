"""Garbage collection in long-running web processes (process tuning, config layer).

CPython's cyclic collector walks every tracked container object of the generation it
collects. A web worker holds hundreds of thousands of long-lived ones (Django, DRF,
TensorFlow and the loaded model) and each search allocates a couple of thousand
short-lived ones, so every few hundred requests a full collection walks them all: a
pause the request being served waits out. ``gc.freeze()`` moves the objects alive at
that moment to a permanent generation that collections skip (docs/ and the commit
that introduced it give the figures).

Frozen objects are still freed when their last reference goes; only reference cycles
among them would stay. So the heap is frozen when the long-lived objects exist (once
the WSGI application is built, and again whenever a signal named with
``heap_freeze_on`` says new ones were made, such as the recommender's
``model_loaded``), and unfrozen and collected first, so that the cycles of a replaced
model are collected.
"""

from __future__ import annotations

import gc
import logging
import time

from django.dispatch import Signal

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


def heap_freeze_on(signal: Signal) -> None:
    """Freeze again (when enabled) each time ``signal`` is sent: a layer below announcing
    that it made long-lived objects, without knowing of this module."""
    signal.connect(_freeze_receiver, dispatch_uid="config.heap.freeze")


def _freeze_receiver(sender, **kwargs) -> None:
    heap_freeze()
