"""The shop's personalization plug point.

The shop asks three questions of a personalizer: how to order search candidates for a
shopper, what to recommend to a shopper, and which products are similar to a product.
``settings.SHOP_PERSONALIZER`` names the class that answers them (as
AUTHENTICATION_BACKENDS names auth backends). The shop never imports the recommender:
it loads whatever class the setting names and wraps it in :class:`SafePersonalizer`, so
an import error or an exception at request time is logged and answered by
:class:`DefaultPersonalizer` (text relevance, popularity, co-occurrence) instead of a 500.

The interface is :class:`Personalizer`, three methods:

- ``rank_search_columns(*, shopper, query, candidates)``: ``candidates`` is a
  :class:`SearchCandidates` (columns: product ids, text relevance, popularity; best
  text match first); the answer is a :class:`RankedSearch` (every candidate's id and
  score in the new order, and a ScoredItem with reason and components per position,
  built only for the positions the page shows). Columns, because a search re-ranks
  hundreds of candidates and shows a page of them;
- ``recommend(*, shopper, limit, exclude=())`` and ``similar(*, product_id, shopper,
  limit)``: lists of :class:`ScoredItem`, best first.

Two optional parts serve staff (the shopper inspector and the explain view of a search):
``describe(*, shopper)`` answers facts about how the personalizer sees a shopper (label
-> text, e.g. their segment or the model serving them; the default knows none), and
``component_labels`` names the score components its search answers carry (name ->
(short label, what it measures)).

A plug-in that would rather rank a list of ScoredItems derives from
:class:`RankSearchFromList` and implements ``rank_search`` instead::

    class CheapestFirst(RankSearchFromList):
        name = "cheapest-first"

        def rank_search(self, *, shopper, query, candidates):  # list[ScoredItem]
            return sorted(candidates, key=lambda item: price_of(item.product_id))

        def recommend(self, *, shopper, limit, exclude=()): ...
        def similar(self, *, product_id, shopper, limit): ...

(tests/shop/test_personalization.py runs such a plug-in through the shop's search.)
Every method must be total; the shop still guards it (SafePersonalizer) and shows only
candidates it retrieved, each once.
"""

from __future__ import annotations

import contextvars
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from shop.selectors import (
    co_occurring_products,
    newest_products,
    popular_in_same_category,
    shopper_purchased_product_ids,
    trending_products,
)
from shop.shoppers import Shopper

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class ScoredItem:
    """A product id with its score, a human-readable reason and the score's parts.

    ``features`` carries facts the shop already fetched with a candidate (its
    ``popularity``), so a personalizer need not query them again. Treat it as
    read-only: it is not frozen because a search builds hundreds of them per request
    and a frozen dataclass is markedly slower to create.
    """

    product_id: int
    score: float
    reason: str = ""
    components: Mapping[str, float] = field(default_factory=dict)
    features: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchCandidates:
    """Search candidates as columns, best text match first: what the shop hands to
    ``Personalizer.rank_search_columns``. Immutable (one instance serves every search
    of a process that reads the same cached matches)."""

    product_ids: tuple[int, ...]
    # Text relevance, normalised to the best candidate's (1.0).
    text: tuple[float, ...]
    popularity: tuple[float, ...]
    # Each candidate's brand id (None: no brand); empty when the caller has none.
    brand_ids: tuple[int | None, ...] = ()

    def __len__(self) -> int:
        return len(self.product_ids)

    def items(self) -> list[ScoredItem]:
        """The candidates as the ScoredItems ``RankSearchFromList.rank_search`` takes."""
        return [
            ScoredItem(pid, text, "", {}, {"popularity": popularity})
            for pid, text, popularity in zip(
                self.product_ids, self.text, self.popularity, strict=True
            )
        ]


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
POPULAR_RIGHT_NOW = "Popular right now"
NEW_IN_THE_SHOP = "New in the shop"


class Personalizer(ABC):
    """Interface (the module docstring describes it). Every method must be total."""

    name = "base"
    # True when the shop may keep a shopper's rendered recommendations: the answer
    # depends only on the catalogue and the shopper's own events about products (not
    # their searches), or the plugin sends ``shop.signals.personalization_changed``
    # when it changes otherwise.
    recommendations_cacheable = False

    @abstractmethod
    def rank_search_columns(
        self, *, shopper: Shopper, query: str, candidates: SearchCandidates
    ) -> RankedSearch:
        """Order search candidates (already scored by text relevance) for ``shopper``."""

    @abstractmethod
    def recommend(
        self, *, shopper: Shopper, limit: int, exclude: Sequence[int] = ()
    ) -> list[ScoredItem]:
        """Products to recommend to ``shopper``, best first."""

    @abstractmethod
    def similar(self, *, product_id: int, shopper: Shopper, limit: int) -> list[ScoredItem]:
        """Products similar to ``product_id``, best first."""

    # The score components of this personalizer's search answers, for staff: name ->
    # (short label, what it measures). Names it does not list are shown as they are.
    component_labels: Mapping[str, tuple[str, str]] = MappingProxyType({})

    def describe(self, *, shopper: Shopper) -> dict[str, str]:
        """Optional: what staff should know of how this personalizer sees ``shopper``
        (label -> text, in the order to show them). Nothing by default."""
        return {}


class RankSearchFromList(Personalizer):
    """Adapter for a plug-in that ranks search candidates as a list of ScoredItems: it
    implements ``rank_search`` and this class answers ``rank_search_columns`` with it."""

    @abstractmethod
    def rank_search(
        self, *, shopper: Shopper, query: str, candidates: list[ScoredItem]
    ) -> list[ScoredItem]:
        """The candidates (``features`` holds each one's popularity) in a new order."""

    def rank_search_columns(self, *, shopper, query, candidates):
        return RankedSearch.from_items(
            self.rank_search(shopper=shopper, query=query, candidates=candidates.items())
        )


class DefaultPersonalizer(Personalizer):
    """Non-personalized answers from the shop's own data."""

    name = "default"
    recommendations_cacheable = True  # popularity and the shopper's own purchases
    component_labels = MappingProxyType(
        {
            "text": (
                "Text match",
                "How well the title and description match the query (1 = the best match).",
            ),
            "popularity": (
                "Popularity",
                "Distinct shoppers who chose the product lately, each counted once and"
                " weighted by recency, on a log scale: breaks near-ties of text.",
            ),
        }
    )

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
        """What is popular right now, then (when too few products are) the newest
        products, each with its own reason; less what the shopper bought."""
        skip = set(exclude) | shopper_purchased_product_ids(shopper=shopper)
        items = [
            ScoredItem(product_id=pid, score=float(score), reason=POPULAR_RIGHT_NOW)
            for pid, score in trending_products(limit=limit + len(skip))
            if pid not in skip
        ][:limit]
        if len(items) < limit:
            shown = skip | {i.product_id for i in items}
            items += [
                ScoredItem(product_id=pid, score=0.0, reason=NEW_IN_THE_SHOP)
                for pid in newest_products(limit=limit - len(items), excluding=shown)
            ]
        return items

    def similar(self, *, product_id, shopper, limit):
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
        chosen = primary if primary is not None else fallback
        self.recommendations_cacheable = chosen.recommendations_cacheable
        labels = {}
        try:  # the plug-in's labels first, in its order
            labels.update(primary.component_labels if primary is not None else {})
        except Exception:  # a plug-in's labels are a nicety, never a reason to fail
            logger.exception("Personalizer %s has unreadable component_labels", self.name)
        for name, label in fallback.component_labels.items():
            labels.setdefault(name, label)
        self.component_labels = MappingProxyType(labels)

    def _call(self, method: str, **kwargs):
        _fell_back.set(False)
        if self.primary is not None:
            try:
                return getattr(self.primary, method)(**kwargs)
            except Exception:
                _fell_back.set(True)
                logger.exception(
                    "Personalizer %s.%s failed; answering with the default",
                    type(self.primary).__name__,
                    method,
                )
        return getattr(self.fallback, method)(**kwargs)

    def rank_search_columns(self, *, shopper, query, candidates):
        asked = {"shopper": shopper, "query": query, "candidates": candidates}
        if self.primary is None:
            return self.fallback.rank_search_columns(**asked)
        name = type(self.primary).__name__
        try:
            ranked = self.primary.rank_search_columns(**asked)
        except Exception:
            logger.exception(
                "Personalizer %s.rank_search_columns failed; answering with the default", name
            )
            return self.fallback.rank_search_columns(**asked)
        try:
            ids, scores = _checked_columns(ranked)
        except Exception:
            logger.exception(
                "Personalizer %s.rank_search_columns answered badly; answering with the default",
                name,
            )
            return self.fallback.rank_search_columns(**asked)
        return RankedSearch(ids, scores, _GuardedItems(ranked, ids, scores, name))

    def recommend(self, *, shopper, limit, exclude=()):
        return self._call("recommend", shopper=shopper, limit=limit, exclude=exclude)

    def similar(self, *, product_id, shopper, limit):
        return self._call("similar", product_id=product_id, shopper=shopper, limit=limit)

    def describe(self, *, shopper):
        """The plug-in's facts about the shopper as text; none when it fails (logged)."""
        if self.primary is None:
            return self.fallback.describe(shopper=shopper)
        try:
            facts = self.primary.describe(shopper=shopper)
            return {str(label): str(text) for label, text in facts.items()}
        except Exception:
            logger.exception("Personalizer %s.describe failed", type(self.primary).__name__)
            return {}


# Whether this context's last recommend/similar answer came from the fallback because
# the configured personalizer failed (SafePersonalizer): such answers are not kept.
_fell_back: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "personalizer_fell_back", default=False
)


def personalizer_fell_back() -> bool:
    """True when the last recommend/similar call of this context (thread, request) was
    answered by the default because the configured personalizer failed."""
    return _fell_back.get()


def _checked_columns(ranked: RankedSearch) -> tuple[list[int], list[float]]:
    """A columnar answer's ids and scores as lists of the same length (else an error)."""
    ids, scores = list(ranked.product_ids), [float(x) for x in ranked.scores]
    if len(ids) != len(scores):
        raise ValueError(f"{len(ids)} product ids but {len(scores)} scores")
    return ids, scores


class _GuardedItems:
    """A plug-in's lazily built items, guarded: the id and score are the checked
    columns', whatever the item says, and an item that fails to build is shown with
    its id and score only (logged)."""

    def __init__(self, ranked: RankedSearch, ids: list[int], scores: list[float], name: str):
        self.ranked, self.ids, self.scores, self.name = ranked, ids, scores, name

    def __call__(self, position: int) -> ScoredItem:
        try:
            built = self.ranked.item(position)
            return ScoredItem(
                self.ids[position], self.scores[position], str(built.reason), built.components
            )
        except Exception:
            logger.exception("Personalizer %s.rank_search_columns item failed", self.name)
            return ScoredItem(self.ids[position], self.scores[position], MATCHES_YOUR_SEARCH, {})


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
