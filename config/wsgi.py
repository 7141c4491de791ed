import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

if settings.GC_FREEZE:
    # Long-lived objects out of the collector's sight (shop/heap.py says why).
    from shop.heap import heap_freeze_enable

    heap_freeze_enable()
