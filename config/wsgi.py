import os

from django.apps import apps
from django.conf import settings
from django.core.wsgi import get_wsgi_application

from config.heap import heap_freeze_enable, heap_freeze_on

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

if settings.WARMUP_ON_START:
    # The model and the search caches before the first shopper (config/warmup.py); before
    # the freeze below, so that one freeze covers what it built. Imported once the apps
    # are loaded (it reads the shop's models).
    from config.warmup import web_process_warm_up_on_start

    web_process_warm_up_on_start()

if settings.GC_FREEZE:
    # Long-lived objects out of the collector's sight (config/heap.py says why).
    heap_freeze_enable()
    if apps.is_installed("recommender"):
        # The recommender is an optional plugin: its signal exists only when installed.
        from recommender.signals import model_loaded

        heap_freeze_on(model_loaded)
