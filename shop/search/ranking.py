"""The personalized order of a page: the personalizer re-ranks the cached window in
columns, staff rules apply, and only the page shown becomes ScoredItems."""

from __future__ import annotations

from shop.personalization import RankedSearch, ScoredItem, get_personalizer
from shop.search.matches import Matches
from shop.search.params import SearchParams
from shop.search.retrieval import sorted_page
from shop.search.rules import apply_rules, ruled
from shop.shoppers import Shopper


def personalized_page(
    found: Matches, params: SearchParams, shopper: Shopper, *, start: int, end: int
) -> list[ScoredItem]:
    """Items ``start`` to ``end`` of the re-ranked window; a page that runs past the
    window continues in text order."""
    candidates, in_stock, top = found.ranking_input()
    ranked = get_personalizer().rank_search_columns(
        shopper=shopper, query=params.query, candidates=candidates
    )
    kept = _candidate_positions(ranked, candidates.product_ids)
    order = apply_rules(ranked, kept, rules=found.rules, in_stock=in_stock)
    page = [
        ruled(ranked.item(position), boost, value) for position, boost, value in order[start:end]
    ]
    if len(page) < params.page_size and end > len(order) and found.total > len(order):
        tail = sorted_page(params, banned=found.rules.bans, start=max(start, len(order)), end=end)
        page += [ScoredItem(product_id=pk, score=float(s) / top) for pk, s in tail]
    return page


def _candidate_positions(ranked: RankedSearch, candidate_ids) -> list[int]:
    """Positions in ``ranked`` of the candidates, each once: a plugged-in personalizer
    cannot add products that the query and filters exclude."""
    allowed = set(candidate_ids)
    kept = []
    for position, product_id in enumerate(ranked.product_ids):
        if product_id in allowed:
            allowed.discard(product_id)
            kept.append(position)
    return kept
