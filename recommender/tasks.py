"""Celery tasks. They take primitive ids and call services; retries and time limits live
here. Training runs on the `training` queue (GPU workers listen there).

Without a broker (the embedded default: CELERY_TASK_ALWAYS_EAGER) a task runs in the
process that sends it. Training and a refresh started by staff then run on a
background thread (``in_background``), so the page that started them answers at once
and follows them live.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from celery import chord, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connections, transaction

from recommender.models import ModelVersion, RefreshRun, TrainingRun
from recommender.search_blend import search_blend_learn_from_clicks
from recommender.serving import refresh
from recommender.serving.model import ArtifactError
from recommender.training import runs
from recommender.training.versions import model_version_activate

logger = logging.getLogger(__name__)

TRAIN_SOFT_LIMIT = 3 * 60 * 60
TRAIN_RETRIES = 30
TRAIN_RETRY_SECONDS = 60
REFRESH_DEBOUNCE_SECONDS = 0.3
BACKGROUND_THREAD_PREFIX = "recommender-background-"


def in_background(function: Callable[..., object], *args) -> threading.Thread:
    """Run ``function(*args)`` on a daemon thread of this process (tasks without a
    broker). The thread closes its database connections when done.

    An in-memory SQLite database (tests only) is one connection shared by every thread,
    as Django's live server shares it: separate connections to it would lock each
    other's tables."""
    shared = {
        conn.alias: conn
        for conn in connections.all()
        if conn.vendor == "sqlite" and conn.is_in_memory_db()
    }
    for conn in shared.values():
        conn.inc_thread_sharing()

    def run() -> None:
        for alias, conn in shared.items():
            connections[alias] = conn
        try:
            function(*args)
        except Exception:
            logger.exception("Background task %s%r failed", function.__name__, args)
        finally:
            for conn in connections.all(initialized_only=True):
                if conn.alias in shared:
                    conn.dec_thread_sharing()
                else:
                    conn.close()

    thread = threading.Thread(
        target=run, name=f"{BACKGROUND_THREAD_PREFIX}{function.__name__}", daemon=True
    )
    thread.start()
    return thread


def background_wait(timeout: float | None = None) -> bool:
    """Wait for this process's background tasks (a command that queued one without a
    broker, tests); False when some still run after ``timeout`` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.startswith(BACKGROUND_THREAD_PREFIX):
            left = None if deadline is None else max(deadline - time.monotonic(), 0)
            thread.join(left)
            if thread.is_alive():
                return False
    return True


def training_run_enqueue(*, run: TrainingRun) -> None:
    """Queue the run's training task once the transaction that created it commits."""

    def send() -> None:
        result = train.apply_async(args=[run.pk], queue="training")
        TrainingRun.objects.filter(pk=run.pk).exclude(celery_task_id=result.id).update(
            celery_task_id=result.id or ""
        )

    transaction.on_commit(send, robust=True)  # a broker that is down must not break the page


def training_run_start(*, parameters: dict, user=None) -> TrainingRun:
    """A run with these (validated) parameters, queued for a worker; TrainingPending
    while another is queued or running (what the admin's pages and the API start)."""
    with transaction.atomic():
        run = runs.training_run_create_unless_pending(parameters=parameters, user=user)
        training_run_enqueue(run=run)
    return run


def refresh_run_request(*, user=None) -> RefreshRun:
    """A refresh of every shopper's top-K, queued (RefreshRefused when none can start)."""
    with transaction.atomic():
        run = refresh.refresh_run_queue(user=user)

        def send() -> None:
            if settings.CELERY_TASK_ALWAYS_EAGER:
                in_background(refresh_recommendations.apply, (), {"refresh_id": run.pk})
            else:
                refresh_recommendations.apply_async(kwargs={"refresh_id": run.pk})

        transaction.on_commit(send, robust=True)
    return run


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=False,  # a run whose worker died is reaped, not re-run blindly
    soft_time_limit=TRAIN_SOFT_LIMIT,
    time_limit=TRAIN_SOFT_LIMIT + 300,
    max_retries=TRAIN_RETRIES,
)
def train(self, run_id: int) -> int | None:
    """Train a queued run. While another run trains, wait (retry every minute).

    Without a broker the run trains on a background thread and this returns None at
    once: the request that queued it does not wait minutes."""
    if self.request.is_eager:
        in_background(_train_here, run_id)
        return None
    try:
        version = runs.training_run_execute(run_id=run_id)
    except runs.TrainingBusy as exc:
        raise self.retry(exc=exc, countdown=TRAIN_RETRY_SECONDS) from exc
    except runs.TrainingCancelled:
        return None
    except SoftTimeLimitExceeded:
        TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.RUNNING).update(
            status=TrainingRun.Status.FAILED, error=f"Time limit of {TRAIN_SOFT_LIMIT} s exceeded."
        )
        return None
    return version.pk if version else None


def _train_here(run_id: int) -> None:
    """The training task's work on this process's background thread (no broker)."""
    for _ in range(TRAIN_RETRIES + 1):
        try:
            runs.training_run_execute(run_id=run_id)
        except runs.TrainingBusy:
            time.sleep(TRAIN_RETRY_SECONDS)
            continue
        except runs.TrainingCancelled:
            pass
        return


@shared_task(acks_late=True, max_retries=3, default_retry_delay=10)
def activate(version_id: int) -> bool:
    version = ModelVersion.objects.get(pk=version_id)
    try:
        model_version_activate(version=version)
    except ArtifactError:
        logger.exception("Refused to activate model v%s", version_id)
        return False
    return True


@shared_task
def nightly_retrain() -> int:
    """Scheduled retrain; it activates only if it beats the active version."""
    run = runs.training_run_create(parameters={"activate": "if_better"}, trigger="schedule")
    training_run_enqueue(run=run)
    return run.pk


@shared_task
def reap_stale_runs() -> int:
    return runs.training_runs_reap_stale()


@shared_task
def learn_search_blend() -> int | None:
    """Scheduled learning to rank: fit the search blend on the click log (once enough
    clicked searches exist; until then the offline defaults keep serving)."""
    blend = search_blend_learn_from_clicks()
    return blend.pk if blend else None


@shared_task
def refresh_recommendations(
    chunk_users: int = refresh.REFRESH_CHUNK_USERS, refresh_id: int | None = None
) -> int | None:
    """Fan out over user-id ranges; each chunk writes its shoppers' top-K (a new
    refresh, or the queued one ``refresh_id`` that staff started)."""
    try:
        started = refresh.refresh_run_start(chunk_users=chunk_users, refresh_id=refresh_id)
        if started is None:
            return None
        run, ranges = started
        if ranges:
            header = [
                refresh_chunk.s(run.model_version_id, low, high, run.pk) for low, high in ranges
            ]
            chord(header)(refresh_finished.s(run.pk))
    except Exception as exc:
        # Without a broker the chunks run here: a failing one ends the refresh failed.
        if refresh_id is not None:
            refresh.refresh_run_end(refresh_id=refresh_id, error=f"{type(exc).__name__}: {exc}")
        raise
    return run.pk


@shared_task(
    acks_late=True, max_retries=3, default_retry_delay=5, soft_time_limit=600, time_limit=660
)
def refresh_chunk(
    version_id: int, first_user_id: int, last_user_id: int, refresh_id: int | None = None
) -> int:
    """Top-K of the shoppers with events whose ids are in [first, last] (counted in
    the refresh ``refresh_id``; nothing once it is cancelled)."""
    return refresh.user_recommendations_refresh_range(
        version_id=version_id,
        first_user_id=first_user_id,
        last_user_id=last_user_id,
        refresh_id=refresh_id,
    )


@shared_task
def refresh_finished(counts: list[int], refresh_id: int) -> int:
    refresh.refresh_run_finish(refresh_id=refresh_id, users=sum(counts))
    return refresh_id


@shared_task(acks_late=True, max_retries=2, default_retry_delay=1)
def refresh_user(user_id: int) -> int:
    """Re-score one shopper after a new event (debounced by the receiver)."""
    return refresh.user_recommendations_refresh_one(user_id=user_id)
