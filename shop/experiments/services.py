"""An experiment's life: created as a draft with its arms, started (at most one running
per surface), stopped, and its winner declared, which makes the winner permanent: the
recommender activates a winning model version (``shop.signals.experiment_winner_declared``);
a stopped search experiment keeps serving its winning order to everyone
(``serves_winner``) until staff stop that or start another search experiment.

Every change of what a surface serves drops the kept recommendation pages and starts a
new search generation (``personalization_changed`` to everyone), which every process's
assignment memo follows (shop.experiments.assignment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from shop.experiments.assignment import serving_forget
from shop.experiments.report import experiment_report, winner_blockers
from shop.experiments.variants import may_serve_variants, variant_surface
from shop.models import Experiment, ExperimentArm, ExperimentStatus, ExperimentSurface
from shop.signals import experiment_winner_declared, personalization_changed

NOT_ALLOWED_TO_SERVE = (
    "An arm names a model version: serving it needs the permission to change model "
    "versions, which you do not have."
)
MIN_ARMS = 2
MAX_ARMS = 5


class ExperimentError(Exception):
    """An experiment cannot do what was asked; the message says why, for staff."""


@dataclass(frozen=True)
class ArmSpec:
    name: str
    share: int  # percent
    variant: dict


def experiment_create(
    *,
    name: str,
    surface: str,
    arms: Sequence[ArmSpec],
    hypothesis: str = "",
    primary_metric: str = "ctr",
    minimum_detectable_effect: float = 0.1,
    baseline: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    created_by=None,
) -> Experiment:
    """A draft experiment; its first arm is the control. Raises ExperimentError when the
    arms do not fit (2 to 5 arms, distinct names, shares summing to 100, variants of the
    surface)."""
    problems = arms_problems(surface=surface, arms=arms)
    if problems:
        raise ExperimentError(" ".join(problems))
    with transaction.atomic():
        experiment = Experiment.objects.create(
            name=name,
            hypothesis=hypothesis,
            surface=surface,
            primary_metric=primary_metric,
            minimum_detectable_effect=minimum_detectable_effect,
            baseline=baseline,
            alpha=alpha,
            power=power,
            created_by=created_by,
        )
        ExperimentArm.objects.bulk_create(
            ExperimentArm(
                experiment=experiment,
                name=arm.name,
                position=position,
                share=arm.share,
                variant=arm.variant,
            )
            for position, arm in enumerate(arms)
        )
    return experiment


def arms_problems(*, surface: str, arms: Sequence[ArmSpec]) -> list[str]:
    """What is wrong with these arms for ``surface`` ([] when nothing)."""
    problems = []
    if not MIN_ARMS <= len(arms) <= MAX_ARMS:
        problems.append(f"An experiment has {MIN_ARMS} to {MAX_ARMS} arms.")
    names = [arm.name.strip() for arm in arms]
    if any(not n for n in names) or len(set(names)) != len(names):
        problems.append("Every arm needs a name of its own.")
    if any(not 1 <= arm.share <= 100 for arm in arms) or sum(a.share for a in arms) != 100:
        problems.append("The arms' shares (1 to 100 percent each) must sum to 100.")
    if any(variant_surface(arm.variant) != surface for arm in arms):
        label = ExperimentSurface(surface).label if surface in ExperimentSurface else surface
        problems.append(f"Every arm must serve a variant of the {label}.")
    return problems


def experiment_start(*, experiment: Experiment, user=None) -> Experiment:
    """Draft -> running. It takes the surface over from any stopped experiment still
    serving its winner there. ExperimentError when another one runs on the surface, or
    when ``user`` may not serve the arms' model versions."""
    if not experiment.is_draft:
        raise ExperimentError("Only a draft experiment can start.")
    arms = list(experiment.arms.all())
    if not may_serve_variants(user, [a.variant for a in arms]):
        raise ExperimentError(NOT_ALLOWED_TO_SERVE)
    problems = arms_problems(
        surface=experiment.surface,
        arms=[ArmSpec(a.name, a.share, a.variant) for a in arms],
    )
    if problems:
        raise ExperimentError(" ".join(problems))
    try:
        with transaction.atomic():
            Experiment.objects.filter(surface=experiment.surface, serves_winner=True).update(
                serves_winner=False
            )
            updated = Experiment.objects.filter(
                pk=experiment.pk, status=ExperimentStatus.DRAFT
            ).update(status=ExperimentStatus.RUNNING, started_at=timezone.now())
    except IntegrityError as exc:
        raise ExperimentError(
            "Another experiment is running on this surface: stop it first."
        ) from exc
    if not updated:
        raise ExperimentError("Only a draft experiment can start.")
    _serving_changed()
    experiment.refresh_from_db()
    return experiment


def experiment_stop(*, experiment: Experiment) -> Experiment:
    """Running -> stopped: nobody is assigned or counted any more; everyone gets the
    surface's default (until a winner is declared)."""
    updated = Experiment.objects.filter(pk=experiment.pk, status=ExperimentStatus.RUNNING).update(
        status=ExperimentStatus.STOPPED, stopped_at=timezone.now()
    )
    if not updated:
        raise ExperimentError("Only a running experiment can stop.")
    _serving_changed()
    experiment.refresh_from_db()
    return experiment


def experiment_declare_winner(
    *, experiment: Experiment, arm: ExperimentArm, user=None, override_reason: str = ""
) -> list[str]:
    """Stop the experiment (if it runs) and make ``arm`` its winner. Allowed when every
    arm reached the planned sample size and the test says so (``winner_blockers``), or
    when staff give ``override_reason`` (recorded). Returns what the receivers of
    ``experiment_winner_declared`` did (e.g. "Model v3 is now active."). ExperimentError
    when not allowed, or when a receiver refused (nothing is changed then)."""
    if arm.experiment_id != experiment.pk:
        raise ExperimentError("That arm is not one of this experiment's.")
    if experiment.is_draft:
        raise ExperimentError("A draft experiment has no results.")
    if experiment.winner_id is not None:
        raise ExperimentError("This experiment's winner is already declared.")
    if not may_serve_variants(user, [arm.variant]):
        raise ExperimentError(NOT_ALLOWED_TO_SERVE)
    override_reason = override_reason.strip()
    blockers = winner_blockers(experiment_report(experiment=experiment), arm)
    if blockers and not override_reason:
        raise ExperimentError(" ".join(blockers))
    now = timezone.now()
    serves = experiment.surface == ExperimentSurface.SEARCH
    try:
        with transaction.atomic():
            if serves:
                Experiment.objects.filter(surface=experiment.surface, serves_winner=True).update(
                    serves_winner=False
                )
            declared = Experiment.objects.filter(pk=experiment.pk, winner__isnull=True).update(
                status=ExperimentStatus.STOPPED,
                stopped_at=experiment.stopped_at or now,
                winner=arm,
                winner_declared_by=user,
                winner_declared_at=now,
                winner_override_reason=override_reason if blockers else "",
                serves_winner=serves,
            )
            if not declared:  # another request declared one meanwhile
                raise ExperimentError("This experiment's winner is already declared.")
            answers = experiment_winner_declared.send(
                sender=Experiment,
                experiment_id=experiment.pk,
                surface=experiment.surface,
                variant=dict(arm.variant),
            )
    except ExperimentError:
        raise
    except Exception as exc:
        raise ExperimentError(f"The winner could not be made permanent: {exc}") from exc
    _serving_changed()
    experiment.refresh_from_db()
    return [str(answer) for _, answer in answers if answer]


def experiment_stop_serving_winner(*, experiment: Experiment) -> Experiment:
    """A stopped search experiment no longer serves its winner: the default order again."""
    Experiment.objects.filter(pk=experiment.pk).update(serves_winner=False)
    _serving_changed()
    experiment.refresh_from_db()
    return experiment


def _serving_changed() -> None:
    """What a surface serves changed: this process re-reads it now, the others when the
    new search generation reaches them (after the commit, so they read the new rows)."""

    def announce() -> None:
        serving_forget()
        personalization_changed.send(sender=Experiment, everyone=True)

    serving_forget()
    transaction.on_commit(announce, robust=True)
