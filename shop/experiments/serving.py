"""Experiments on the hot path: the arm a shopper is served, and the record that they
saw it (an Exposure). Nothing here may break a search or a recommendation: every
failure is logged and answered with "no experiment" (the default is served).

Logging an exposure costs one cache read for a shopper already counted; the first time,
an INSERT ... ON CONFLICT DO NOTHING (in a savepoint, so that a failure cannot spoil the
request's transaction) and a cache write.

The search package sits below this one (it cannot import it), so the search service
asks for the arm through the provider registered here (``search_arm_provider_set``).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone

from shop.caching import cache_get, cache_set
from shop.experiments.assignment import Assignment, experiment_assignment
from shop.models import ExperimentSurface, Exposure
from shop.search.service import SearchArm, search_arm_provider_set
from shop.shoppers import Shopper

logger = logging.getLogger(__name__)

# How long a process remembers that a shopper was counted (after that, one more
# INSERT that does nothing).
EXPOSED_CACHE_SECONDS = 7 * 24 * 3600

SEARCH_ORDERS = ("personalized", "lexical")

_paused: contextvars.ContextVar[bool] = contextvars.ContextVar("exposures_paused", default=False)


def experiment_arm(*, surface: str, shopper: Shopper) -> Assignment | None:
    """The arm serving ``shopper`` on ``surface``, or None (no experiment, or it failed)."""
    try:
        return experiment_assignment(surface=surface, shopper=shopper)
    except Exception:
        logger.exception("Experiment assignment on %s failed; serving the default", surface)
        return None


def exposure_record(assignment: Assignment) -> None:
    """Record that the shopper saw their arm (once per experiment and shopper)."""
    if not assignment.log_exposure or _paused.get():
        return
    key = f"shop:exposed:{assignment.experiment_id}:{assignment.shopper_key}"
    try:
        if cache_get(key):
            return
        shopper = assignment.shopper
        anonymous = shopper.user_id is None
        with transaction.atomic():
            Exposure.objects.bulk_create(
                [
                    Exposure(
                        experiment_id=assignment.experiment_id,
                        arm_id=assignment.arm_id,
                        shopper_key=assignment.shopper_key,
                        user_id=shopper.user_id,
                        session_id=shopper.session_id if anonymous else "",
                        first_exposed_at=timezone.now(),
                    )
                ],
                ignore_conflicts=True,
            )
        cache_set(key, 1, EXPOSED_CACHE_SECONDS)
    except Exception:
        logger.exception("Could not record the exposure of %s", assignment.shopper_key)


@contextlib.contextmanager
def exposures_paused() -> Iterator[None]:
    """Within this block nothing is counted as seen: staff looking at what a shopper
    would get (the shopper inspector, the search explain view) are not the shopper."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def search_arm(shopper: Shopper) -> SearchArm | None:
    """The search order the shopper's arm serves: a "lexical" arm turns their
    personalized order off. None when no search experiment serves them."""
    assignment = experiment_arm(surface=ExperimentSurface.SEARCH, shopper=shopper)
    if assignment is None:
        return None
    order = assignment.variant.get("search_order", "personalized")
    if order not in SEARCH_ORDERS:
        logger.error("Experiment %s: unknown search order %r", assignment.experiment_id, order)
        return None
    served = dataclasses.replace(shopper, personalize=order == "personalized")
    return SearchArm(
        shopper=served,
        context={"experiment": assignment.experiment_id, "arm": assignment.arm_name},
        expose=lambda: exposure_record(assignment),
    )


search_arm_provider_set(search_arm)


def search_shopper_as_served(shopper: Shopper) -> Shopper:
    """The shopper as search serves them: a "lexical" arm of a running search experiment
    turns their personalized order off. Records no exposure (staff tools show the order
    a shopper gets without counting them)."""
    with exposures_paused():
        arm = search_arm(shopper)
    return arm.shopper if arm is not None else shopper
