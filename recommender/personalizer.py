"""The recommender's implementation of the shop's personalization interface.

Configured with SHOP_PERSONALIZER = "recommender.personalizer.RecommenderPersonalizer".
The shop wraps it: an exception here is logged and answered by the shop's default.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from django.utils.text import Truncator

from recommender.ml.ranking import BlendModel
from recommender.search_blend import search_blend_current
from recommender.serving.recommendations import (
    Recommendation,
    recommendations_for_user,
    similar_items,
)
from recommender.serving.search import search_signal_arrays
from shop.models import Product
from shop.personalization import (
    MATCHES_YOUR_SEARCH,
    DefaultPersonalizer,
    Personalizer,
    RankedSearch,
    ScoredItem,
    SearchCandidates,
)

# The features that say something about this shopper (the rest are about the query).
TASTE_FEATURES = ("affinity", "similarity", "brand", "co_bought")


def _titles(product_ids) -> dict[int, str]:
    ids = [p for p in set(product_ids) if p]
    return dict(Product.objects.filter(pk__in=ids).values_list("pk", "title")) if ids else {}


def _recommended_item(recommendation: Recommendation, titles: dict[int, str]) -> ScoredItem:
    """A recommendation with its reason: the history product that led to it, if any."""
    reason_title = titles.get(recommendation.reason_product_id)
    return ScoredItem(
        product_id=recommendation.product_id,
        score=recommendation.score,
        reason=f"Because you showed interest in “{Truncator(reason_title).chars(60)}”"
        if reason_title is not None
        else "Picked for you",
        components={"model": recommendation.score},
    )


class RecommenderPersonalizer(Personalizer):
    name = "recommender"
    # Re-scored shoppers and model activations send shop.signals.personalization_changed.
    recommendations_cacheable = True

    def __init__(self) -> None:
        self.default = DefaultPersonalizer()

    def recommend(self, *, shopper, limit, exclude=()):
        if not shopper.personalize:
            return self.default.recommend(shopper=shopper, limit=limit, exclude=exclude)
        recs = recommendations_for_user(
            user_id=shopper.user_id,
            session_id=shopper.session_id,
            limit=limit,
            exclude=set(exclude),
        )
        if not recs:
            return self.default.recommend(shopper=shopper, limit=limit, exclude=exclude)
        titles = _titles(r.reason_product_id for r in recs)
        items = [_recommended_item(r, titles) for r in recs]
        if len(items) < limit:
            seen = {i.product_id for i in items} | set(exclude)
            items += self.default.recommend(shopper=shopper, limit=limit, exclude=list(seen))[
                : limit - len(items)
            ]
        return items

    def similar(self, *, product_id, shopper, limit):
        recs = similar_items(product_id=product_id, limit=limit)
        if not recs:
            return self.default.similar(product_id=product_id, shopper=shopper, limit=limit)
        return [
            ScoredItem(
                product_id=r.product_id,
                score=r.score,
                reason="Similar to this item",
                components={"model": r.score},
            )
            for r in recs
        ]

    def rank_search_columns(self, *, shopper, query, candidates):
        """Blend of text relevance, popularity and the served model's signals about the
        shopper (affinity, similarity to their latest products, already bought, brand
        share, co-bought counts; recommender.serving.search) and their pairwise
        products, with the weights of the newest SearchBlend (learned from search clicks)
        or the offline-tuned defaults. Components are each feature's share of the score
        (``BlendModel.contributions``); ``x_<name>`` are the raw features, which the
        shop logs with the search for learning to rank.

        All in arrays: only the shown page's candidates become ScoredItems
        (``RankedSearch.item``)."""
        signals = None
        if shopper.personalize and len(candidates) >= 2:
            signals = search_signal_arrays(
                user_id=shopper.user_id,
                session_id=shopper.session_id,
                product_ids=candidates.product_ids,
                brand_ids=candidates.brand_ids,
            )
        if signals is None:
            return self.default.rank_search_columns(
                shopper=shopper, query=query, candidates=candidates
            )
        return _blended(search_blend_current(), candidates, signals)


def _blended(blend: BlendModel, candidates: SearchCandidates, signals: dict) -> RankedSearch:
    """The candidates ordered by the blend's score (best first, then product id)."""
    features = _features(blend, candidates, signals)
    contributions = blend.contributions(features)
    scores = contributions.sum(axis=1)
    ids = candidates.product_ids
    order = np.lexsort((np.asarray(ids), -scores))
    taste = contributions[:, [name in TASTE_FEATURES for name in blend.names]].sum(axis=1)
    table = _ComponentTable(blend.names, contributions, features)
    rows = order.tolist()
    score_list = scores.tolist()

    def item(position: int) -> ScoredItem:
        row = rows[position]
        return ScoredItem(
            ids[row],
            score_list[row],
            "Matches your search and your taste" if taste[row] > 0.5 else MATCHES_YOUR_SEARCH,
            _RowComponents(table, row),
        )

    return RankedSearch([ids[r] for r in rows], scores[order].tolist(), item)


def _features(blend: BlendModel, candidates: SearchCandidates, signals: dict) -> np.ndarray:
    """(candidates, blend features) matrix of the raw features."""
    columns = {
        "text": np.asarray(candidates.text, dtype=float),
        "affinity": signals["affinity"],
        "popularity": np.log1p(np.asarray(candidates.popularity, dtype=float)),
        "similarity": signals["similarity"],
        "bought": signals["bought"],
        "brand": signals["brand"],
        "co_bought": signals["co_bought"],
    }
    return np.column_stack([columns[name] for name in blend.names])


class _ComponentTable:
    """Per-candidate score components of one search, as arrays."""

    def __init__(self, names, contributions: np.ndarray, features: np.ndarray) -> None:
        self.keys = (*names, *(f"x_{name}" for name in names))
        self.column = {key: k for k, key in enumerate(self.keys)}
        self.matrix = np.hstack([contributions, features])
        self.rows: dict[int, list[float]] = {}

    def row(self, row: int) -> list[float]:
        """One candidate's values as plain floats (converted once, when first read)."""
        values = self.rows.get(row)
        if values is None:
            values = self.rows[row] = self.matrix[row].tolist()
        return values


class _RowComponents(Mapping):
    """One candidate's components ({feature: share of the score, x_feature: raw value}),
    read from the search's arrays on demand: only the shown page is ever read, so the
    other ~200 candidates never build a dict."""

    __slots__ = ("table", "row")

    def __init__(self, table: _ComponentTable, row: int) -> None:
        self.table, self.row = table, row

    def __getitem__(self, key: str) -> float:
        return self.table.row(self.row)[self.table.column[key]]

    def __iter__(self):
        return iter(self.table.keys)

    def __len__(self) -> int:
        return len(self.table.keys)

    def items(self):
        # One zip instead of a lookup per key: the search log reads every shown one.
        return zip(self.table.keys, self.table.row(self.row), strict=True)
