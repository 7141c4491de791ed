"""The recommender's implementation of the shop's personalization interface.

Configured with SHOP_PERSONALIZER = "recommender.personalizer.RecommenderPersonalizer".
The shop wraps it: an exception here is logged and answered by the shop's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.timesince import timesince

from recommender.ml.ranking import LIVE_FEATURES, BlendModel
from recommender.ml.segments import SEGMENTS
from recommender.models import TRAINING_EVENT_TYPES, ModelVersion, UserRecommendation
from recommender.search_blend import search_blend_current
from recommender.serving.histories import latest_event_id_subquery
from recommender.serving.model import active_model
from recommender.serving.recommendations import (
    Recommendation,
    recommendations_for_user,
    similar_items,
)
from recommender.serving.search import search_signal_arrays
from shop.models import Event, Product
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
# Staff's names for the search components (the explain view's columns and legend).
_LABELS = {
    **DefaultPersonalizer.component_labels,
    "affinity": ("Taste", "How close the product is to the shopper's taste (the model's vectors)."),
    "similarity": (
        "Like recent",
        "The highest similarity to one of the shopper's latest products.",
    ),
    "bought": ("Bought", "1 when the shopper already bought it: such products are demoted."),
    "brand": ("Brand", "The share of the shopper's latest products of the same brand."),
    "co_bought": (
        "Bought with",
        "How often shoppers who bought the shopper's latest products bought this one.",
    ),
}
# Staff's names for the search components (the explain view's columns and legend), in
# the blend's order.
COMPONENT_LABELS = MappingProxyType(
    {
        **{name: _LABELS[name] for name in LIVE_FEATURES},
        "model": ("Model", "The served model's score."),
    }
)
# Interactions counted for the segment (beyond, "1000+"); the thresholds are those of
# the recommender's evaluation (recommender.ml.segments.SEGMENTS).
INTERACTIONS_COUNTED = 1000


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
    component_labels = COMPONENT_LABELS

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

    def describe(self, *, shopper):
        """The shopper's segment, whether the served model knew them, and what is
        stored for them (staff's shopper inspector)."""
        return shopper_model_facts(shopper)

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


def shopper_model_facts(shopper) -> dict[str, str]:
    """What the recommender knows of a shopper, label -> text, for staff.

    Bounded, indexed reads (EXPLAIN ANALYZE on Postgres 15, 2.2 million events): the
    interaction count ``count(*) FROM (... LIMIT 1001)`` on ``event_user_time_idx``
    (``event_session_time_idx`` for a session); known or new ``EXISTS`` with ``Index
    Cond: user_id = $1 AND occurred_at <= cutoff`` (one row read); the version and the
    cached row by primary key (the newest event id by ``event_user_time_idx``)."""
    interactions = _interactions(shopper)
    shown = f"{INTERACTIONS_COUNTED}+" if interactions > INTERACTIONS_COUNTED else interactions
    facts = {
        "Segment": f"{shopper_segment(interactions)} ({shown} interaction"
        f"{'' if interactions == 1 else 's'} the model reads; cold ≤ {SEGMENTS['cold'][1]}, "
        f"hot ≥ {SEGMENTS['hot'][0]})"
    }
    loaded = active_model()
    version = ModelVersion.objects.filter(pk=loaded.version_id).first() if loaded else None
    if version is None:
        facts["Served model"] = "none: the shop's default answers (popularity)"
        return facts
    activated = timesince(version.activated_at or version.created_at)
    kind = getattr(loaded.model, "kind", "model")
    facts["Served model"] = f"v{version.pk} ({kind}), activated {activated} ago"
    facts["New or known"] = _new_or_known(shopper, version.data_cutoff)
    if shopper.user_id is None:
        facts["Cached top-K"] = "none: an anonymous shopper is scored when they ask"
        facts["Shopper vector"] = (
            "computed from the session's history when they search"
            if interactions
            else "none: no history yet"
        )
    else:
        facts.update(_stored_facts(shopper.user_id, version.pk))
    if not shopper.personalize:
        facts["Personalization"] = "off (opted out): the model is not asked for this shopper"
    return facts


def shopper_segment(interactions: int) -> str:
    """cold, warm or hot by the number of interactions, as the evaluation segments."""
    for name, (low, high) in SEGMENTS.items():
        if low <= interactions <= high:
            return name
    return "hot"


def _shopper_events(shopper):
    """The shopper's events that the model reads (recommender.serving.histories)."""
    events = Event.objects.filter(product__isnull=False, event_type__in=TRAINING_EVENT_TYPES)
    if shopper.user_id is not None:
        return events.filter(user_id=shopper.user_id)
    return events.filter(session_id=shopper.session_id, user__isnull=True)


def _interactions(shopper) -> int:
    """The shopper's interactions, counted up to one past INTERACTIONS_COUNTED (an index
    range of event_user_time_idx or event_session_time_idx, never more)."""
    if shopper.user_id is None and not shopper.session_id:
        return 0
    return _shopper_events(shopper).order_by()[: INTERACTIONS_COUNTED + 1].count()


def _new_or_known(shopper, cutoff) -> str:
    if cutoff is None:
        return "unknown (the served version records no data cutoff)"
    if _shopper_events(shopper).filter(occurred_at__lte=cutoff).exists():
        return f"known: the served model trained on their history (data up to {cutoff:%Y-%m-%d})"
    return f"new: no history up to the served model's data cutoff ({cutoff:%Y-%m-%d})"


def _stored_facts(user_id: int, version_id: int) -> dict[str, str]:
    """The user's cached top-K and stored vector, if any (one row by primary key)."""
    row = (
        UserRecommendation.objects.filter(user_id=user_id)
        .annotate(newest_event_id=latest_event_id_subquery(user_id))
        .values_list(
            "model_version_id", "items", "vector", "last_event_id", "newest_event_id", "computed_at"
        )
        .first()
    )
    if row is None:
        return {
            "Cached top-K": "none yet: scored when they ask, until the next refresh",
            "Shopper vector": "not stored: computed from their history when they search",
        }
    row_version, items, vector, last_event_id, newest_event_id, computed_at = row
    age = timesince(computed_at, timezone.now())
    if row_version != version_id:
        return {
            "Cached top-K": f"{len(items)} items of v{row_version}, another version than the "
            f"served one (computed {age} ago): scored when they ask until the refresh",
            "Shopper vector": "stored for another version: computed when they search",
        }
    behind = newest_event_id != last_event_id
    return {
        "Cached top-K": f"{len(items)} items, computed {age} ago"
        + (" (newer events since: a refresh is queued)" if behind else ""),
        "Shopper vector": "none stored"
        if vector is None
        else "stored, behind their newest event: computed when they search"
        if behind
        else "stored and up to date",
    }
