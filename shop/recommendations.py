"""Recommendations for a shopper, optionally within some categories.

The personalizer's interface has no category (``recommend(shopper, limit, exclude)``,
shop.personalization), so a category filter is applied here: ask the personalizer for
``CATEGORY_OVERFETCH`` times as many products (at most ``MAX_ASKED``), keep those in the
categories, and when that leaves fewer than asked for, fill up with the categories' most
popular active products (reason "Popular in <category>", or "More in <category>" for
those nobody chose lately). A shopper whose personal
favourites lie elsewhere therefore gets popular products of the category rather than
personal ones: the answer's reasons say which is which.

The rendered answers are kept per shopper (``recommendations_page_get`` / ``_store``) when
the personalizer allows it (``recommendations_cacheable``): a shopper who opens the app
again is answered with one cache read. A kept page is dropped when the shopper records
events, changes their opt-out, or the personalizer re-scores them
(``shop.signals.personalization_changed``, shop.receivers); the catalogue's generation
(shop.search.cache) and a lifetime of ``PAGE_CACHE_SECONDS`` (SEARCH_CACHE_SECONDS) bound the rest (bulk
updates that send no signal).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings

from shop.caching import cache_get, cache_get_many, cache_set, cache_set_many
from shop.models import Product
from shop.personalization import ScoredItem, get_personalizer, personalizer_fell_back
from shop.search.cache import search_cache_invalidate, search_generation
from shop.selectors import shopper_purchased_product_ids
from shop.shoppers import Shopper

CATEGORY_OVERFETCH = 5
MAX_ASKED = 250
# As long as search keeps a query's matches: the same bound on what bulk catalogue
# updates, which send no signal, leave stale. Everything else drops a page at once.
PAGE_CACHE_SECONDS = settings.SEARCH_CACHE_SECONDS
# The differently parametrized pages kept per shopper (limit, category, excluded ids).
PAGES_PER_SHOPPER = 8
# Forgetting up to this many shoppers writes an empty entry for each; beyond, only for
# those who have one.
FORGET_ALWAYS = 50


def recommendations_for_shopper(
    *,
    shopper: Shopper,
    limit: int,
    exclude: Sequence[int] = (),
    category_ids: Collection[int] = (),
) -> list[ScoredItem]:
    """Up to ``limit`` recommendations, best first, none of ``exclude`` (even if the
    plugged-in personalizer ignores it); with ``category_ids`` (already expanded to
    their subcategories) only products in those categories."""
    excluded = set(exclude)
    personalizer = get_personalizer()
    if not category_ids:
        items = personalizer.recommend(shopper=shopper, limit=limit, exclude=tuple(exclude))
        return [i for i in items if i.product_id not in excluded][:limit]
    asked = min(limit * CATEGORY_OVERFETCH, MAX_ASKED)
    items = personalizer.recommend(shopper=shopper, limit=asked, exclude=tuple(exclude))
    candidate_ids = {i.product_id for i in items} - excluded
    in_categories = set(
        Product.objects.filter(
            pk__in=candidate_ids, category_id__in=category_ids, is_active=True
        ).values_list("pk", flat=True)
    )
    chosen: list[ScoredItem] = []
    for item in items:
        if item.product_id in in_categories:
            chosen.append(item)
            in_categories.discard(item.product_id)  # each product once
    chosen = chosen[:limit]
    if len(chosen) < limit:
        chosen += _popular_in_categories(
            category_ids=category_ids,
            limit=limit - len(chosen),
            skip=excluded
            | {i.product_id for i in chosen}
            | shopper_purchased_product_ids(shopper=shopper),
        )
    return chosen


def _popular_in_categories(
    *, category_ids: Collection[int], limit: int, skip: set[int]
) -> list[ScoredItem]:
    """The categories' most popular active products not in ``skip``, scored below any
    personal recommendation ("More in ..." for those nobody chose lately)."""
    products = (
        Product.objects.filter(is_active=True, category_id__in=category_ids)
        .exclude(pk__in=skip)
        .select_related("category")
        .order_by("-popularity", "pk")[:limit]
    )
    return [
        ScoredItem(
            product_id=product.pk,
            score=float(product.popularity) * 1e-6,
            # "Popular" only where shoppers chose it (shop.popularity); else just more.
            reason=f"{'Popular' if product.popularity > 0 else 'More'} in {product.category.name}",
        )
        for product in products
    ]


# ---------------------------------------------------------------------- kept pages
#
# One cache entry per shopper: (catalogue generation, stamp, {signature: page}). Reading
# a page also returns a ``PageLease``: what the entry was when the page was missed. A
# page computed afterwards is stored only if the entry is still that one: a forget
# (which writes an empty entry with a new stamp, rather than deleting) or a catalogue
# change that lands while the page is computed is never overwritten with the old page.


@dataclass(frozen=True)
class PageLease:
    generation: int
    stamp: str | None  # None: no entry when the page was missed


def _pages_key(*, user_id: int | None, session_id: str) -> str:
    if user_id is not None:
        return f"shop:recs-pages:u{user_id}"
    # An anonymous session or device; without either, everybody gets the same answer.
    return f"shop:recs-pages:s{session_id}"


def recommendations_page_get(
    *, shopper: Shopper, signature: str
) -> tuple[bytes | None, PageLease | None]:
    """The page kept for this shopper and these parameters (``signature``) if it is of
    the current catalogue generation, else None with the lease to store a new one
    under; (None, None) when caching is off."""
    if not get_personalizer().recommendations_cacheable:
        return None, None
    generation = search_generation()
    entry = cache_get(_pages_key(user_id=shopper.user_id, session_id=shopper.session_id))
    if entry and entry[0] == generation and signature in entry[2]:
        return entry[2][signature], None
    return None, PageLease(generation, entry[1] if entry else None)


def recommendations_page_store(
    *, shopper: Shopper, signature: str, body: bytes, lease: PageLease | None
) -> None:
    """Keep a rendered page, unless the shopper's entry changed since ``lease`` was
    taken (forgotten, or of another catalogue generation) or the personalizer fell back
    to the default (a passing failure is not kept). The shopper's other kept pages stay,
    up to PAGES_PER_SHOPPER, the oldest dropped first."""
    if lease is None or personalizer_fell_back():
        return
    key = _pages_key(user_id=shopper.user_id, session_id=shopper.session_id)
    entry = cache_get(key)
    if (entry[1] if entry else None) != lease.stamp:
        return  # forgotten (or rewritten) meanwhile: the page may be out of date
    if search_generation() != lease.generation:
        return
    pages = dict(entry[2]) if entry and entry[0] == lease.generation else {}
    pages.pop(signature, None)
    pages[signature] = body
    while len(pages) > PAGES_PER_SHOPPER:
        pages.pop(next(iter(pages)))
    cache_set(key, (lease.generation, lease.stamp or uuid.uuid4().hex, pages), PAGE_CACHE_SECONDS)


def recommendations_pages_forget(
    *, user_ids: Iterable[int] = (), session_ids: Iterable[str] = (), everyone: bool = False
) -> None:
    """Drop the kept pages of these shoppers (an empty entry with a new stamp, so that a
    page being computed is not stored afterwards), or of everybody (a new catalogue
    generation: another model answers)."""
    if everyone:
        search_cache_invalidate()
        return
    keys = [_pages_key(user_id=uid, session_id="") for uid in user_ids]
    keys += [_pages_key(user_id=None, session_id=sid) for sid in session_ids if sid]
    if len(keys) > FORGET_ALWAYS:
        # A refresh of many shoppers: only those with an entry get an empty one (the
        # race above needs a shopper asking while being re-scored; not worth an entry
        # for each of a whole refresh's shoppers).
        keys = list(cache_get_many(keys))
    if keys:
        cache_set_many({key: (None, uuid.uuid4().hex, {}) for key in keys}, PAGE_CACHE_SECONDS)
