"""Staff merchandising rules (pin, boost, ban) for a query, applied over the
personalized order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shop.models import SearchRule, SearchRuleAction
from shop.personalization import RankedSearch, ScoredItem
from shop.search.params import SearchParams
from shop.search.retrieval import filtered_queryset
from shop.text import normalize_query

# The "rules" component a pin shows in explain mode (a pin outranks any score).
PIN_COMPONENT = 1000.0


@dataclass(frozen=True)
class SearchRules:
    """The active staff rules for one query."""

    pins: dict[int, float] = field(default_factory=dict)
    boosts: dict[int, float] = field(default_factory=dict)
    bans: set[int] = field(default_factory=set)


def search_rules_for_query(*, query: str) -> SearchRules:
    key = normalize_query(query)
    rules = SearchRules()
    if not key:
        return rules
    for product_id, action, weight in SearchRule.objects.filter(
        query=key, is_active=True
    ).values_list("product_id", "action", "weight"):
        if action == SearchRuleAction.PIN:
            rules.pins[product_id] = weight
        elif action == SearchRuleAction.BOOST:
            rules.boosts[product_id] = weight
        elif action == SearchRuleAction.BAN:
            rules.bans.add(product_id)
    return rules


def with_pins(params: SearchParams, rules: SearchRules, total: int, window: list):
    """Staff pins show for their query even when their text does not match it (a gift
    card pinned for "christmas"): pinned products outside the window join it, if they
    are active and pass the shopper's filters; those that did not match the text count
    in the total too. ``apply_rules`` then puts them first."""
    missing = set(rules.pins) - {row[0] for row in window}
    if not missing:
        return total, window
    pinned = list(
        filtered_queryset(params.with_query(""), banned=rules.bans)
        .filter(pk__in=missing)
        .values_list("pk", "stock", "popularity", "brand_id")
    )
    matching = set(
        filtered_queryset(params, banned=rules.bans)
        .filter(pk__in=[row[0] for row in pinned])
        .values_list("pk", flat=True)
    )
    total += sum(1 for row in pinned if row[0] not in matching)
    return total, window + [
        (pk, 0.0, stock, popularity, brand) for pk, stock, popularity, brand in pinned
    ]


def apply_rules(
    ranked: RankedSearch, positions: list[int], *, rules: SearchRules, in_stock: dict[int, bool]
) -> list[tuple[int, float, float]]:
    """Business rules over the personalized order (``positions`` in ``ranked``): staff
    pins first (highest weight first), then products in stock before those out of
    stock. Within a group the personalizer's order stands; a boost adds its weight to
    the personalizer's score, and when the query has boosts the group is ordered by
    that boosted score.

    Returns (position in ``ranked``, boost, rules component) in the final order; only
    the page shown is turned into ScoredItems (``ruled``), not the whole window.
    """
    ids = ranked.product_ids
    boosted = any(ids[p] in rules.boosts for p in positions)
    if not rules.pins and not boosted:
        # No rule touches these candidates: in stock first, order kept otherwise.
        return [(p, 0.0, 0.0) for p in positions if in_stock.get(ids[p], True)] + [
            (p, 0.0, 0.0) for p in positions if not in_stock.get(ids[p], True)
        ]
    return _ruled_order(ranked, positions, rules=rules, in_stock=in_stock, boosted=boosted)


def _ruled_order(
    ranked: RankedSearch,
    positions: list[int],
    *,
    rules: SearchRules,
    in_stock: dict[int, bool],
    boosted: bool,
) -> list[tuple[int, float, float]]:
    """Sorted by (pinned, pin weight, in stock, boosted score if any, personalized order)."""
    ids, scores = ranked.product_ids, ranked.scores
    out = []
    for order, p in enumerate(positions):
        product_id = ids[p]
        boost = rules.boosts.get(product_id, 0.0)
        value = boost + (PIN_COMPONENT if product_id in rules.pins else 0.0)
        out.append(
            (
                product_id not in rules.pins,
                -rules.pins.get(product_id, 0.0),
                not in_stock.get(product_id, True),
                -(scores[p] + boost) if boosted else 0.0,
                order,
                (p, boost, value),
            )
        )
    out.sort(key=lambda row: row[:5])
    return [row[5] for row in out]


def ruled(item: ScoredItem, boost: float, value: float) -> ScoredItem:
    """The item as shown: its boosted score and its components plus "rules" (a view,
    no copy)."""
    return ScoredItem(
        product_id=item.product_id,
        score=item.score + boost,
        reason=item.reason,
        components=_WithRules(item.components, value),
    )


class _WithRules(Mapping):
    """A candidate's score components with the "rules" one added (a read-only view)."""

    __slots__ = ("base", "rules")

    def __init__(self, base: Mapping[str, float], rules: float) -> None:
        self.base, self.rules = base, rules

    def __getitem__(self, key: str) -> float:
        return self.rules if key == "rules" else self.base[key]

    def __iter__(self):
        yield from (k for k in self.base if k != "rules")
        yield "rules"

    def __len__(self) -> int:
        return len(self.base) + ("rules" not in self.base)

    def items(self):
        yield from ((k, v) for k, v in self.base.items() if k != "rules")
        yield "rules", self.rules
