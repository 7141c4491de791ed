"""Which arm a shopper is in: deterministic, by a hash of the experiment's salt and the
shopper's key into one of 10,000 buckets, cut by the arms' cumulative shares.

At most one experiment serves each surface: the running one, else a stopped one that
keeps serving its declared winner to everyone. Which one, with its arms, is read once
per process and kept until the search generation changes (starting, stopping or
declaring sends ``personalization_changed`` to everyone, which starts a new one; other
processes see it within a second, shop.search.cache) or ``CONFIG_MAX_AGE`` passes. With
no experiment, the search and recommendation paths pay nothing but a dictionary lookup.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from shop.models import Experiment, ExperimentStatus
from shop.search.cache import search_generation
from shop.shoppers import Shopper

BUCKETS = 10_000
# A process re-reads the serving experiments at least this often, even if no new
# generation told it to (the shared cache may be down).
CONFIG_MAX_AGE = 60.0


@dataclass(frozen=True)
class ServedArm:
    arm_id: int
    name: str
    variant: Mapping
    upper_bucket: int  # buckets below this (and above the previous arm's) are this arm's


@dataclass(frozen=True)
class ServingConfig:
    """The experiment that serves a surface, as the hot path needs it."""

    experiment_id: int
    salt: str
    running: bool  # False: stopped, serving ``arms[0]`` (the winner) to everyone
    arms: tuple[ServedArm, ...]

    def arm_for(self, key: str) -> ServedArm:
        if not self.running:
            return self.arms[0]
        bucket = shopper_bucket(self.salt, key)
        for arm in self.arms:
            if bucket < arm.upper_bucket:
                return arm
        return self.arms[-1]


@dataclass(frozen=True)
class Assignment:
    """A shopper's arm. ``log_exposure`` is False for a stopped experiment's winner,
    which is served without counting anybody."""

    experiment_id: int
    arm_id: int
    arm_name: str
    variant: Mapping
    shopper: Shopper
    shopper_key: str
    log_exposure: bool


def shopper_key(shopper: Shopper) -> str:
    """ "u:<user id>" for a signed-in shopper, "s:<session id>" for an anonymous one, ""
    for nobody (a visitor without a session is never assigned)."""
    if shopper.user_id is not None:
        return f"u:{shopper.user_id}"
    if shopper.session_id:
        return f"s:{shopper.session_id}"
    return ""


def shopper_bucket(salt: str, key: str) -> int:
    """The shopper's bucket in 0..BUCKETS-1: uniform, and the same on every process."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def arm_bounds(shares: list[int]) -> list[int]:
    """Each arm's upper bucket from the shares (percent; scaled if they do not sum to 100)."""
    total = sum(shares) or 1
    bounds, running = [], 0
    for share in shares:
        running += share
        bounds.append(round(running * BUCKETS / total))
    return bounds


def experiment_assignment(*, surface: str, shopper: Shopper) -> Assignment | None:
    """The arm that serves ``shopper`` on ``surface``; None when no experiment serves it,
    the shopper has no id, or they opted out of personalization (they cannot see a
    personalized arm, so counting them would only dilute it)."""
    if not shopper.personalize:
        return None
    config = serving_config(surface)
    if config is None:
        return None
    key = shopper_key(shopper)
    if not key:
        return None
    arm = config.arm_for(key)
    return Assignment(
        experiment_id=config.experiment_id,
        arm_id=arm.arm_id,
        arm_name=arm.name,
        variant=arm.variant,
        shopper=shopper,
        shopper_key=key,
        log_exposure=config.running,
    )


_lock = threading.Lock()
# generation -> the time it was read and {surface: config or None}
_memo: dict = {"generation": None, "read_at": 0.0, "configs": {}}


def serving_config(surface: str) -> ServingConfig | None:
    """The experiment serving ``surface`` (None: none), from this process's memo."""
    generation = search_generation()
    now = time.monotonic()
    memo = _memo
    if memo["generation"] != generation or now - memo["read_at"] > CONFIG_MAX_AGE:
        with _lock:
            _memo.update(generation=generation, read_at=now, configs={})
    configs = _memo["configs"]
    if surface not in configs:
        configs[surface] = _config_from_database(surface)
    return configs[surface]


def serving_forget() -> None:
    """Forget this process's memo (the next request reads the database)."""
    with _lock:
        _memo.update(generation=None, read_at=0.0, configs={})


def _config_from_database(surface: str) -> ServingConfig | None:
    """Two indexed queries: the running experiment (the partial unique index
    experiment_one_running_per_surface), else the one serving its winner."""
    experiment = (
        Experiment.objects.filter(surface=surface, status=ExperimentStatus.RUNNING)
        .prefetch_related("arms")
        .first()
    )
    if experiment is not None:
        arms = sorted(experiment.arms.all(), key=lambda a: a.position)
        if not arms:
            return None
        bounds = arm_bounds([a.share for a in arms])
        return ServingConfig(
            experiment_id=experiment.pk,
            salt=experiment.salt,
            running=True,
            arms=tuple(
                ServedArm(a.pk, a.name, MappingProxyType(dict(a.variant)), bound)
                for a, bound in zip(arms, bounds, strict=True)
            ),
        )
    stopped = (
        Experiment.objects.filter(surface=surface, serves_winner=True)
        .select_related("winner")
        .first()
    )
    if stopped is None or stopped.winner is None:
        return None
    winner = stopped.winner
    return ServingConfig(
        experiment_id=stopped.pk,
        salt=stopped.salt,
        running=False,
        arms=(ServedArm(winner.pk, winner.name, MappingProxyType(dict(winner.variant)), BUCKETS),),
    )
