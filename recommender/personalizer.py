"""The recommender's implementation of the shop's personalization interface.

Configured with SHOP_PERSONALIZER = "recommender.personalizer.RecommenderPersonalizer".
The shop wraps it: an exception here is logged and answered by the shop's default.
"""

from __future__ import annotations

from django.utils.text import Truncator

from recommender import selectors
from shop.models import Product
from shop.personalization import DefaultPersonalizer, Personalizer, ScoredItem

# Search blend until learning to rank has enough clicks (issue: personalized search).
TEXT_WEIGHT, AFFINITY_WEIGHT, POPULARITY_WEIGHT = 1.0, 0.3, 0.1


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
            items += [
                i for i in self.default.recommend(shopper=shopper, limit=limit, exclude=list(seen))
            ][: limit - len(items)]
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
        base = self.default.rank_search(shopper=shopper, query=query, candidates=candidates)
        if not shopper.personalize or not base:
            return base
        affinity = selectors.affinity_scores(
            user_id=shopper.user_id,
            session_id=shopper.session_id,
            product_ids=[c.product_id for c in base],
        )
        if not affinity:
            return base
        low, high = min(affinity.values()), max(affinity.values())
        span = (high - low) or 1.0
        ranked = []
        for item in base:
            text = item.components.get("text", item.score)
            popularity = item.components.get("popularity", 0.0)
            aff = (affinity[item.product_id] - low) / span if item.product_id in affinity else 0.0
            components = {
                "text": TEXT_WEIGHT * text,
                "affinity": AFFINITY_WEIGHT * aff,
                "popularity": popularity,
            }
            ranked.append(
                ScoredItem(
                    product_id=item.product_id,
                    score=sum(components.values()),
                    reason="Matches your search and your taste" if aff > 0.5 else item.reason,
                    components=components,
                )
            )
        ranked.sort(key=lambda s: (-s.score, s.product_id))
        return ranked
