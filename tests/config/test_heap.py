"""Freezing long-lived objects out of the garbage collector (web processes)."""

import gc
import importlib
import weakref

import pytest
from django.dispatch import Signal

from config import heap
from recommender.signals import model_loaded


@pytest.fixture(autouse=True)
def _collector_as_before():
    yield
    heap.heap_freeze_disable()


class _Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_nothing_is_frozen_unless_a_server_process_turned_it_on():
    heap.heap_freeze()
    assert gc.get_freeze_count() == 0


def test_live_objects_leave_the_collectors_passes_and_replaced_ones_are_collected():
    node = _Node()
    alive = weakref.ref(node)
    heap.heap_freeze_enable()
    assert gc.get_freeze_count() > 0
    del node  # garbage now, but frozen: a full collection does not see it
    gc.collect()
    assert alive() is not None
    heap.heap_freeze()  # what a process does after loading a new model
    assert alive() is None
    assert gc.get_freeze_count() > 0


def test_a_signal_named_to_it_freezes_again_when_sent():
    made_long_lived_objects = Signal()
    heap.heap_freeze_on(made_long_lived_objects)
    node = _Node()
    alive = weakref.ref(node)
    heap.heap_freeze_enable()
    del node
    made_long_lived_objects.send(sender=None)  # as the recommender's model_loaded
    assert alive() is None
    assert gc.get_freeze_count() > 0


def test_turning_it_off_gives_everything_back_to_the_collector():
    heap.heap_freeze_enable()
    heap.heap_freeze_disable()
    assert gc.get_freeze_count() == 0
    heap.heap_freeze()
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("enabled", [True, False])
def test_the_wsgi_application_freezes_when_the_setting_says_so(settings, enabled):
    import config.wsgi

    settings.GC_FREEZE = enabled
    importlib.reload(config.wsgi)
    assert callable(config.wsgi.application)
    assert (gc.get_freeze_count() > 0) is enabled


def test_the_wsgi_application_freezes_again_after_the_recommender_loads_a_model(settings):
    import config.wsgi  # here, not above: building the application freezes the heap

    settings.GC_FREEZE = True
    node = _Node()
    alive = weakref.ref(node)
    importlib.reload(config.wsgi)
    del node  # garbage now, but frozen with everything alive at start-up
    gc.collect()
    assert alive() is not None
    model_loaded.send(sender=None, version_id=1)  # what the recommender sends after a load
    assert alive() is None
