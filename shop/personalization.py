"""The shop's personalization plug point.

The shop asks three questions of a personalizer: how to order search candidates for a
shopper, what to recommend to a shopper, and which products are similar to a product.
``settings.SHOP_PERSONALIZER`` names the class that answers them (as
AUTHENTICATION_BACKENDS names auth backends). The shop never imports the recommender:
it loads whatever class the setting names and wraps it in :class:`SafePersonalizer`, so
an import error or an exception at request time is logged and answered by
:class:`DefaultPersonalizer` (text relevance, popularity, co-occurrence) instead of a 500.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from shop.shoppers import Shopper

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class ScoredItem:
    """A product id with its score, a human-readable reason and the score's parts.

    ``features`` carries facts the shop already fetched with a candidate (its
    ``popularity`` counter), so a personalizer need not query them again. Treat it as
    read-only: it is not frozen only because a search builds ~600 of them per request
    and a frozen dataclass costs 2.5x as much to create (0.74 against 0.29 us).
    """

    product_id: int
    score: float
    reason: str = ""
    components: Mapping[str, float] = field(default_factory=dict)
    features: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchCandidates:
    """Search candidates as columns, best text match first: the form the shop hands to
    ``Personalizer.rank_search_columns``. Immutable (one instance serves every search
    of a process that reads the same cached matches)."""

    product_ids: tuple[int, ...]
    # Text relevance, normalised to the best candidate's (1.0).
    text: tuple[float, ...]
    popularity: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.product_ids)

    def items(self) -> list[ScoredItem]:
        """The candidates as the ScoredItems ``rank_search`` takes."""
        return [
            ScoredItem(pid, text, "", {}, {"popularity": popularity})
            for pid, text, popularity in zip(
                self.product_ids, self.text, self.popularity, strict=True
            )
        ]

    @classmethod
    def from_items(cls, items: Sequence[ScoredItem]) -> SearchCandidates:
        popularity = candidate_popularity(items)
        return cls(
            tuple(i.product_id for i in items),
            tuple(float(i.components.get("text", i.score)) for i in items),
            tuple(popularity.get(i.product_id, 0) for i in items),
        )


class RankedSearch:
    """A personalizer's order of search candidates: every candidate's id and score in
    the new order, and any one's reason and score components on demand (a search shows
    one page of the ~300, so only those are ever built)."""

    __slots__ = ("product_ids", "scores", "_item")

    def __init__(self, product_ids: list[int], scores: list[float], item) -> None:
        self.product_ids = product_ids
        self.scores = scores
        # position -> ScoredItem (with its reason and components)
        self._item = item

    def __len__(self) -> int:
        return len(self.product_ids)

    def item(self, position: int) -> ScoredItem:
        return self._item(position)

    @classmethod
    def from_items(cls, items: Sequence[ScoredItem]) -> RankedSearch:
        items = list(items)
        return cls([i.product_id for i in items], [i.score for i in items], items.__getitem__)


# The reason of a search result that nothing more specific explains.
MATCHES_YOUR_SEARCH = "Matches your search"


def rank_search_by_columns(
    personalizer: Personalizer, *, shopper: Shopper, query: str, candidates: Sequence[ScoredItem]
) -> list[ScoredItem]:
    """``rank_search`` of a personalizer that ranks in columns: its
    ``rank_search_columns`` on the items, every ranked item built, and a candidate's own
    reason kept where the ranking gives only the generic one."""
    ranked = personalizer.rank_search_columns(
        shopper=shopper, query=query, candidates=SearchCandidates.from_items(candidates)
    )
    reasons = {c.product_id: c.reason for c in candidates if c.reason}
    items = [ranked.item(n) for n in range(len(ranked))]
    for item in items:
        if item.product_id in reasons and item.reason == MATCHES_YOUR_SEARCH:
            item.reason = reasons[item.product_id]
    return items


def candidate_popularity(candidates: Sequence[ScoredItem]) -> dict[int, int]:
    """The popularity counter of each candidate: from its features, else the database."""
    if all("popularity" in c.features for c in candidates):
        return {c.product_id: int(c.features["popularity"]) for c in candidates}
    from shop.selectors import product_popularity

    return product_popularity(product_ids=[c.product_id for c in candidates])


class Personalizer(ABC):
    """Interface. Subclasses answer the three questions; every method must be total."""

    name = "base"

    @abstractmethod
    def rank_search(
        self, *, shopper: Shopper, query: str, candidates: Sequence[ScoredItem]
    ) -> list[ScoredItem]:
        """Order search candidates (already scored by text relevance) for ``shopper``."""

    def rank_search_columns(
        self, *, shopper: Shopper, query: str, candidates: SearchCandidates
    ) -> RankedSearch:
        """``rank_search`` on columns, which is what the shop's search calls. This
        default builds the ScoredItems and calls ``rank_search``; a personalizer that
        re-ranks hundreds of candidates per search can answer in columns directly."""
        return RankedSearch.from_items(
            self.rank_search(shopper=shopper, query=query, candidates=candidates.items())
        )

    @abstractmethod
    def recommend(
        self, *, shopper: Shopper, limit: int, exclude: Sequence[int] = ()
    ) -> list[ScoredItem]:
        """Products to recommend to ``shopper``, best first."""

    @abstractmethod
    def similar(self, *, product_id: int, shopper: Shopper, limit: int) -> list[ScoredItem]:
        """Products similar to ``product_id``, best first."""


class DefaultPersonalizer(Personalizer):
    """Non-personalized answers from the shop's own data."""

    name = "default"

    def rank_search(self, *, shopper, query, candidates):
        return rank_search_by_columns(self, shopper=shopper, query=query, candidates=candidates)

    def rank_search_columns(self, *, shopper, query, candidates):
        top = math.log1p(max(candidates.popularity, default=0) or 1)
        # Popularity only breaks near-ties in text relevance.
        boost = [0.1 * math.log1p(p) / top for p in candidates.popularity]
        scores = [t + b for t, b in zip(candidates.text, boost, strict=True)]
        ids = candidates.product_ids
        order = sorted(range(len(ids)), key=lambda n: (-scores[n], ids[n]))

        def item(position: int) -> ScoredItem:
            n = order[position]
            return ScoredItem(
                ids[n],
                scores[n],
                MATCHES_YOUR_SEARCH,
                {"text": candidates.text[n], "popularity": boost[n]},
            )

        return RankedSearch([ids[n] for n in order], [scores[n] for n in order], item)

    def recommend(self, *, shopper, limit, exclude=()):
        from shop.selectors import shopper_purchased_product_ids, trending_products

        skip = set(exclude) | shopper_purchased_product_ids(shopper=shopper)
        trending = trending_products(limit=limit + len(skip))
        return [
            ScoredItem(product_id=pid, score=float(score), reason="Popular right now")
            for pid, score in trending
            if pid not in skip
        ][:limit]

    def similar(self, *, product_id, shopper, limit):
        from shop.selectors import co_occurring_products, popular_in_same_category

        items = [
            ScoredItem(
                product_id=pid, score=float(n), reason="Shoppers who viewed this also viewed"
            )
            for pid, n in co_occurring_products(product_id=product_id, limit=limit)
        ]
        if len(items) < limit:
            seen = {i.product_id for i in items} | {product_id}
            for pid, score, category_name in popular_in_same_category(
                product_id=product_id, limit=limit + len(seen)
            ):
                if pid not in seen:
                    items.append(
                        ScoredItem(
                            product_id=pid,
                            score=float(score) * 1e-6,
                            reason=f"More in {category_name}",
                        )
                    )
                    seen.add(pid)
        return items[:limit]


class SafePersonalizer(Personalizer):
    """Delegates to the configured personalizer; any failure falls back to the default."""

    def __init__(self, primary: Personalizer | None, fallback: Personalizer):
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name if primary else fallback.name

    def _call(self, method: str, **kwargs):
        if self.primary is not None:
            try:
                return getattr(self.primary, method)(**kwargs)
            except Exception:
                logger.exception(
                    "Personalizer %s.%s failed; answering with the default",
                    type(self.primary).__name__,
                    method,
                )
        return getattr(self.fallback, method)(**kwargs)

    def rank_search(self, *, shopper, query, candidates):
        return self._call("rank_search", shopper=shopper, query=query, candidates=candidates)

    def rank_search_columns(self, *, shopper, query, candidates):
        if self.primary is None:
            return self.fallback.rank_search_columns(
                shopper=shopper, query=query, candidates=candidates
            )
        if _answers_rank_search_only(type(self.primary)):
            # A personalizer whose own ranking is its rank_search (it implements only
            # that, or overrides it below an inherited rank_search_columns): the
            # interface's default asks self.rank_search, so it is asked (and, when it
            # fails, logged) by that name.
            return super().rank_search_columns(shopper=shopper, query=query, candidates=candidates)
        try:
            ranked = self.primary.rank_search_columns(
                shopper=shopper, query=query, candidates=candidates
            )
        except Exception:
            logger.exception(
                "Personalizer %s.rank_search_columns failed; answering with the default",
                type(self.primary).__name__,
            )
            return self.fallback.rank_search_columns(
                shopper=shopper, query=query, candidates=candidates
            )
        return self._guarded(ranked, shopper=shopper, query=query, candidates=candidates)

    def _guarded(self, ranked, *, shopper, query, candidates) -> RankedSearch:
        """The primary's columnar answer, checked now, and its lazily built items
        guarded: a malformed answer is replaced by the default's, an item that fails
        to build is shown with its id and score only; both are logged."""
        name = type(self.primary).__name__
        try:
            ids, scores = list(ranked.product_ids), [float(x) for x in ranked.scores]
            if len(ids) != len(scores):
                raise ValueError(f"{len(ids)} product ids but {len(scores)} scores")
        except Exception:
            logger.exception(
                "Personalizer %s.rank_search_columns answered badly; answering with the default",
                name,
            )
            return self.fallback.rank_search_columns(
                shopper=shopper, query=query, candidates=candidates
            )

        def item(position: int) -> ScoredItem:
            # The id and score are the checked columns', whatever the item says.
            try:
                built = ranked.item(position)
                return ScoredItem(
                    ids[position], scores[position], str(built.reason), built.components
                )
            except Exception:
                logger.exception("Personalizer %s.rank_search_columns item failed", name)
                return ScoredItem(ids[position], scores[position], MATCHES_YOUR_SEARCH, {})

        return RankedSearch(ids, scores, item)

    def recommend(self, *, shopper, limit, exclude=()):
        return self._call("recommend", shopper=shopper, limit=limit, exclude=exclude)

    def similar(self, *, product_id, shopper, limit):
        return self._call("similar", product_id=product_id, shopper=shopper, limit=limit)


def _answers_rank_search_only(cls: type) -> bool:
    """Whether a personalizer class's own search ranking is ``rank_search``: the nearest
    class in its MRO that defines either method defines only ``rank_search`` (or is the
    interface itself, whose ``rank_search_columns`` calls ``rank_search``)."""
    for klass in cls.__mro__:
        if klass is Personalizer:
            return True
        if "rank_search_columns" in vars(klass):
            return False
        if "rank_search" in vars(klass):
            return True
    return True


@lru_cache(maxsize=1)
def get_personalizer() -> Personalizer:
    """The configured personalizer, wrapped so that it can never break a page."""
    fallback = DefaultPersonalizer()
    path = getattr(settings, "SHOP_PERSONALIZER", "") or ""
    primary: Personalizer | None = None
    if path and path != "shop.personalization.DefaultPersonalizer":
        try:
            primary = import_string(path)()
        except Exception:
            logger.exception("Cannot load SHOP_PERSONALIZER %r; using the default", path)
    return SafePersonalizer(primary, fallback)


def _reset(*, setting: str, **kwargs) -> None:
    if setting == "SHOP_PERSONALIZER":
        get_personalizer.cache_clear()


setting_changed.connect(_reset)
