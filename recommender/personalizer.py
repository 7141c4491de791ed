"""The recommender's implementation of the shop's personalization interface.

Configured with SHOP_PERSONALIZER = "recommender.personalizer.RecommenderPersonalizer".
The shop wraps it: an exception here is logged and answered by the shop's default.
"""

from __future__ import annotations

import math

import numpy as np
from django.utils.text import Truncator

from recommender import selectors
from recommender.search_blend import search_blend_current
from recommender.search_ranking import standardize
from shop.models import Product
from shop.personalization import DefaultPersonalizer, Personalizer, ScoredItem
from shop.selectors import product_popularity


def _titles(product_ids) -> dict[int, str]:
    ids = [p for p in set(product_ids) if p]
    return dict(Product.objects.filter(pk__in=ids).values_list("pk", "title")) if ids else {}


class RecommenderPersonalizer(Personalizer):
    name = "recommender"

    def __init__(self) -> None:
        self.default = DefaultPersonalizer()

    def recommend(self, *, shopper, limit, exclude=()):
        if not shopper.personalize:
            return self.default.recommend(shopper=shopper, limit=limit, exclude=exclude)
        recs = selectors.recommendations_for_user(
            user_id=shopper.user_id,
            session_id=shopper.session_id,
            limit=limit,
            exclude=set(exclude),
        )
        if not recs:
            return self.default.recommend(shopper=shopper, limit=limit, exclude=exclude)
        titles = _titles(r.reason_product_id for r in recs)
        items = [
            ScoredItem(
                product_id=r.product_id,
                score=r.score,
                reason=f"Because you showed interest in “{Truncator(titles[r.reason_product_id]).chars(60)}”"
                if r.reason_product_id in titles
                else "Picked for you",
                components={"model": r.score},
            )
            for r in recs
        ]
        if len(items) < limit:
            seen = {i.product_id for i in items} | set(exclude)
            items += self.default.recommend(shopper=shopper, limit=limit, exclude=list(seen))[
                : limit - len(items)
            ]
        return items

    def similar(self, *, product_id, shopper, limit):
        recs = selectors.similar_items(product_id=product_id, limit=limit)
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

    def rank_search(self, *, shopper, query, candidates):
        """Blend of text relevance, the model's affinity and recent-item similarity, and
        popularity, with the weights of the newest SearchBlend (learned from search
        clicks) or the offline-tuned defaults. Components are each feature's share of
        the score (weight x feature standardised over the candidates); ``x_<name>`` are
        the raw features, which the shop logs with the search for learning to rank."""
        base = self.default.rank_search(shopper=shopper, query=query, candidates=candidates)
        if not shopper.personalize or len(base) < 2:
            return base
        ids = [c.product_id for c in base]
        signals = selectors.search_signals(
            user_id=shopper.user_id, session_id=shopper.session_id, product_ids=ids
        )
        if not signals["affinity"]:
            return base
        popularity = product_popularity(product_ids=ids)
        features = np.array(
            [
                [
                    item.components.get("text", item.score),
                    signals["affinity"].get(item.product_id, 0.0),
                    math.log1p(popularity.get(item.product_id, 0)),
                    signals["similarity"].get(item.product_id, 0.0),
                ]
                for item in base
            ]
        )
        blend = search_blend_current()
        contributions = standardize(features) * blend.weights
        scores = contributions.sum(axis=1)
        ranked = []
        for n, item in enumerate(base):
            components = {name: float(contributions[n, k]) for k, name in enumerate(blend.names)}
            components.update(
                {f"x_{name}": float(features[n, k]) for k, name in enumerate(blend.names)}
            )
            taste = components["affinity"] + components["similarity"]
            ranked.append(
                ScoredItem(
                    product_id=item.product_id,
                    score=float(scores[n]),
                    reason="Matches your search and your taste" if taste > 0.5 else item.reason,
                    components=components,
                )
            )
        ranked.sort(key=lambda s: (-s.score, s.product_id))
        return ranked
