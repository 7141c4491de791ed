"""Warming a web process up before its first shopper (process start-up, config layer).

Left alone, the first request of a process pays for what is built on first use: the URL
configuration and its views, the recommender's model (seconds: the artifact, the item
matrix, TensorFlow's first calls) and the search's caches. ``web_process_warm_up`` does
that work at start-up; config/wsgi.py calls it when ``settings.WARMUP_ON_START`` is on,
so management commands, migrations, Celery workers and tests (which never import the
WSGI module) load no model at start.

- gunicorn without ``--preload`` (and runserver): each worker imports the WSGI module
  and warms itself up before it accepts a connection, so its first answer is warm. A
  worker is silent meanwhile: gunicorn's ``--timeout`` must exceed the warm-up.
- gunicorn with ``--preload``: the master imports the module and forks the workers;
  TensorFlow and open database connections must not cross a fork, so the master warms
  nothing and each worker warms itself up in a background thread right after the fork
  (a request arriving meanwhile waits for that one load, or is answered without the
  model: recommender.serving.model).

Each step that fails is logged and skipped: the shop starts and serves without the
recommender, with a broken one, or with no model.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.apps import apps
from django.db import connections
from django.urls import get_resolver

from shop.models import Product
from shop.search.params import SearchParams
from shop.search.service import search_products
from shop.shoppers import Shopper

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Searched once at start-up when the catalogue has no product to take a word from.
FALLBACK_QUERY = "a"


def web_process_warm_up() -> dict[str, float]:
    """Warm this process up now: the URL configuration, the recommender's active model
    (when the recommender is installed) and a search through the shop's search service
    (the personalizer's order, the lexical caches). Returns each step's seconds; a step
    that failed is logged and left out. Never raises."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    _step("urls", _urls_warm_up, timings)
    session_id = ""
    if apps.is_installed("recommender"):
        session_id = _step("model", _model_warm_up, timings) or ""
    _step("search", lambda: _search_warm_up(session_id), timings)
    logger.info(
        "Warm-up done in %.1f s (%s)",
        time.perf_counter() - started,
        ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timings.items()),
    )
    return timings


def _step(name: str, step: Callable[[], T], timings: dict[str, float]) -> T | None:
    """``step()``, timed into ``timings``; None (logged) when it raised."""
    t0 = time.perf_counter()
    try:
        result = step()
    except Exception:
        logger.exception("Warm-up step %r failed; the first request will do it", name)
        return None
    timings[name] = round(time.perf_counter() - t0, 3)
    return result


def web_process_warm_up_on_start() -> None:
    """What config/wsgi.py calls once the application exists: warm up now, or, in a
    gunicorn master that preloads the application for its workers, in each worker
    right after it is forked."""
    if _gunicorn_preloads():
        os.register_at_fork(after_in_child=web_process_warm_up_in_background)
        return
    web_process_warm_up()


def web_process_warm_up_in_background() -> threading.Thread:
    """Warm up in a daemon thread (its database connections closed when done)."""
    thread = threading.Thread(target=_warm_up_and_close, name="warm-up", daemon=True)
    thread.start()
    return thread


def _warm_up_and_close() -> None:
    try:
        web_process_warm_up()
    finally:
        connections.close_all()  # this thread's: no request thread will reuse them


def _gunicorn_preloads(argv: list[str] | None = None, environ=None) -> bool:
    """True in a gunicorn master started with --preload (on its command line or in
    GUNICORN_CMD_ARGS): it imports the application before forking the workers."""
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    if not argv or Path(argv[0]).name != "gunicorn":
        return False
    return "--preload" in [*argv[1:], *shlex.split(environ.get("GUNICORN_CMD_ARGS", ""))]


def _urls_warm_up() -> None:
    # Resolving a path imports the URL configuration and, through it, every view.
    get_resolver().resolve("/")


def _model_warm_up() -> str:
    """The recommender's warm-up; the session of the made-up shopper it prepared ("" when
    no model is active)."""
    # Here, not at the top: the recommender is an optional plugin, whose modules can only
    # be imported when it is installed.
    from recommender.serving.warmup import WARM_UP_SESSION, model_warm_up

    return WARM_UP_SESSION if model_warm_up() is not None else ""


def _search_warm_up(session_id: str) -> None:
    """One search for a common word of the catalogue, in the default order: fills the
    search's caches and runs the configured personalizer (for the recommender's
    made-up shopper when it prepared one). Records no event."""
    params = SearchParams.from_mapping({"q": warm_up_query()})
    search_products(params=params, shopper=Shopper(session_id=session_id))


def warm_up_query() -> str:
    """The first word of the most popular product's title (a word shoppers search)."""
    title = (
        Product.objects.filter(is_active=True)
        .order_by("-popularity", "pk")
        .values_list("title", flat=True)
        .first()
    )
    words = (title or "").split()
    return words[0] if words else FALLBACK_QUERY
