"""The recommender's admin: training runs and refreshes, model versions, cached top-K
(one module per job; importing them registers their ModelAdmins)."""

from recommender.admin import recommendations, training, versions

__all__ = ["recommendations", "training", "versions"]
