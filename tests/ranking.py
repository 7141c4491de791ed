"""Test helper: a personalizer's search ranking read as a list of ScoredItems, from
candidates given as ScoredItems (the shop hands a personalizer columns)."""

from __future__ import annotations

from collections.abc import Sequence

from shop.models import Product
from shop.personalization import Personalizer, ScoredItem, SearchCandidates
from shop.shoppers import Shopper


def search_candidates(items: Sequence[ScoredItem]) -> SearchCandidates:
    """The columns the search would build: each item's text score (its ``text``
    component, else its score) and popularity (its feature, else the product's)."""
    ids = [i.product_id for i in items]
    stored = {
        pk: (popularity, brand)
        for pk, popularity, brand in Product.objects.filter(pk__in=ids).values_list(
            "pk", "popularity", "brand_id"
        )
    }
    popularity = {pk: row[0] for pk, row in stored.items()}
    if all("popularity" in i.features for i in items):
        popularity = {i.product_id: int(i.features["popularity"]) for i in items}
    return SearchCandidates(
        tuple(ids),
        tuple(float(i.components.get("text", i.score)) for i in items),
        tuple(popularity.get(pk, 0) for pk in ids),
        tuple(stored.get(pk, (0, None))[1] for pk in ids),
    )


def rank_items(
    personalizer: Personalizer, *, shopper: Shopper, query: str, candidates: Sequence[ScoredItem]
) -> list[ScoredItem]:
    """Every ranked candidate, built, in the personalizer's order."""
    ranked = personalizer.rank_search_columns(
        shopper=shopper, query=query, candidates=search_candidates(candidates)
    )
    return [ranked.item(n) for n in range(len(ranked))]
