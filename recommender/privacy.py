"""The recommender's part of a shopper's export and deletion (shop.privacy): the cached
top-K row the refresh stores for them (its products, scores and reasons, and the recent
and bought products it was computed from). The vector is left out of the export: it is
the model's internal state, not something stored about the shopper in readable form, and
it is deleted with the row. Caches in front are dropped when the user is deleted
(recommender.receivers)."""

from __future__ import annotations

from recommender.models import UserRecommendation
from shop.privacy import privacy_section_register

SECTION = "recommendations"


def _export(user):
    return (
        UserRecommendation.objects.filter(user=user)
        .values("model_version_id", "items", "recent", "purchased", "computed_at")
        .iterator()
    )


def _delete(user) -> int:
    deleted, _ = UserRecommendation.objects.filter(user=user).delete()
    return deleted


def register() -> None:
    privacy_section_register(name=SECTION, export=_export, delete=_delete)
