"""What activating a model version (or rolling back) changes, as the confirmation page
shows it: the served version's figures beside the new one's with their differences, the
data each was trained on, the settings that differ, and the shoppers whose cached top-K
the activation recomputes.

Queries: the active version (the partial unique index on is_active), and a count of
recommender_userrecommendation (one row per shopper with a cached top-K, not per event:
a parallel sequential or index-only scan on Postgres, about 0.1 s per million
shoppers). No event is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from recommender.models import ModelVersion, UserRecommendation
from recommender.training.scorecard import MEASURES, Cell, Measure, served_metrics, served_name
from recommender.training.versions import setting_text
from shop.dashboards.charts import format_value

ACTIONS = ("activate", "rollback")


@dataclass(frozen=True)
class Change:
    """One line of the comparison: the served version's value, the new one's, and the
    difference ("n/a" when either is missing)."""

    label: str
    current: Cell | str
    new: Cell | str
    difference: str = ""
    verdict: str = ""  # "better", "worse" or "" (no change, not comparable, not a figure)
    description: str = ""


@dataclass
class VersionChange:
    action: str  # "activate" or "rollback"
    current: ModelVersion | None
    target: ModelVersion | None
    metrics: list[Change] = field(default_factory=list)
    facts: list[Change] = field(default_factory=list)
    settings: list[Change] = field(default_factory=list)  # only those that differ
    settings_same: int = 0
    shoppers: int = 0  # cached top-K lists the activation recomputes
    warnings: list[str] = field(default_factory=list)

    @property
    def can_confirm(self) -> bool:
        return self.target is not None and not self.target.is_active


def version_change(*, action: str, target: ModelVersion | None) -> VersionChange:
    """The comparison of the active version with ``target`` (None: nothing to roll back to)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    current = ModelVersion.objects.filter(is_active=True).first()
    change = VersionChange(action=action, current=current, target=target)
    change.warnings = _warnings(action, current, target)
    if target is None:
        return change
    before = served_metrics(current.metrics) if current else {}
    after = served_metrics(target.metrics)
    change.metrics = [_metric_change(m, before, after) for m in MEASURES]
    change.facts = _fact_changes(current, target)
    change.settings, change.settings_same = _setting_changes(
        current.config if current else {}, target.config
    )
    change.shoppers = UserRecommendation.objects.count()
    return change


def _warnings(action: str, current: ModelVersion | None, target: ModelVersion | None) -> list[str]:
    if target is None:
        return ["There is no earlier version to roll back to."]
    warnings = []
    if target.is_active:
        warnings.append(f"Model v{target.pk} is already the one served: nothing would change.")
    if not Path(target.artifact_path).is_dir():
        warnings.append(
            f"Its artifact directory {target.artifact_path} is missing: activation would be"
            " refused and the served version kept."
        )
    if target.refused_reason:
        warnings.append(f"Its activation was refused before: {target.refused_reason}")
    if current is None:
        warnings.append("No version is served now: every figure is compared with nothing.")
    elif action == "rollback":
        warnings.append(
            f"Rolling back activates v{target.pk}, the most recent version created before the"
            f" served v{current.pk}."
        )
    return warnings


def difference(current: float | None, new: float | None, y_format: str) -> str:
    """The change from ``current`` to ``new`` as printed ("n/a" when either is missing)."""
    if current is None or new is None:
        return "n/a"
    delta = new - current
    if delta == 0:
        return "0"
    if y_format == "percent":
        return f"{delta * 100:+.1f} pp"
    if y_format == "number":
        return f"{delta:+,}"
    relative = f" ({delta / current:+.1%})" if current else ""
    return f"{delta:+.4f}{relative}"


def _metric_change(measure: Measure, before: dict, after: dict) -> Change:
    old, new = measure.of(before), measure.of(after)
    verdict = ""
    if old is not None and new is not None and new != old:
        verdict = "better" if (new > old) == measure.higher_is_better else "worse"
    return Change(
        measure.label,
        Cell(old, measure.y_format, measure.users_of(before)),
        Cell(new, measure.y_format, measure.users_of(after)),
        difference(old, new, measure.y_format),
        verdict,
        measure.description,
    )


def _fact_changes(current: ModelVersion | None, target: ModelVersion) -> list[Change]:
    def count(label: str, attribute: str) -> Change:
        old = getattr(current, attribute) if current else None
        new = getattr(target, attribute)
        return Change(label, format_value(old), format_value(new), difference(old, new, "number"))

    def plain(label: str, of) -> Change:
        return Change(label, of(current) if current else "-", of(target))

    def holdout(version: ModelVersion) -> int | None:
        return served_metrics(version.metrics).get("users")

    old_holdout = holdout(current) if current else None
    return [
        plain("version", lambda v: f"v{v.pk}"),
        plain("served model", lambda v: served_name(v.metrics) or "-"),
        count("products", "item_count"),
        count("shoppers trained on", "user_count"),
        count("events trained on", "event_count"),
        Change(
            "shoppers in the holdout",
            format_value(old_holdout),
            format_value(holdout(target)),
            difference(old_holdout, holdout(target), "number"),
        ),
        plain("data cutoff (newest event used)", lambda v: _when(v.data_cutoff)),
        plain("created", lambda v: _when(v.created_at)),
        plain("trained on", lambda v: v.device or "-"),
    ]


def _when(moment) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def _setting_changes(before: dict, after: dict) -> tuple[list[Change], int]:
    changed, same = [], 0
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            same += 1
            continue
        numeric = isinstance(old, (int, float)) and isinstance(new, (int, float))
        delta = ""
        if numeric and not isinstance(old, bool) and not isinstance(new, bool):
            delta = f"{new - old:+g}"
        changed.append(Change(key, setting_text(old), setting_text(new), delta))
    return changed, same
