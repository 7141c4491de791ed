"""Search-box completions.

``search_autocomplete`` (the API's, the same for everybody): brands and categories with
a word starting with the typed text, then popular matching products.

``search_box_suggestions`` (the storefront's box) puts before them the shopper's own
recent searches and whole words for the word being typed: the words of the most popular
matching products' titles, ranked by how many of them hold the word and
by how often shoppers searched it. Only catalogue words are offered, so another
shopper's free text never shows; "sha" offers "shampoo" even when hundreds of products
match and none of the most popular few has it first in its title.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import F, Sum
from django.utils import timezone

from shop.caching import cache_get, cache_set
from shop.models import Brand, Category, Event, EventType, SearchQueryDay
from shop.search.cache import search_generation
from shop.search.retrieval import active_matches
from shop.shoppers import Shopper
from shop.text import MAX_QUERY_LENGTH, normalize_query, query_terms, words

AUTOCOMPLETE_LIMIT = 8
SEARCH_BOX_LIMIT = 10
# Per kind, at most: brands, categories, completed words, recent searches.
BRANDS, CATEGORIES, WORDS, RECENT = 2, 2, 3, 3
# With nothing typed yet, the box lists this many recent searches.
RECENT_WHEN_EMPTY = 5
# The most popular matching products whose words are counted for completions.
WORD_SAMPLE = 200
# Searched queries (with results) within this window rank completed words.
QUERY_WINDOW_DAYS = 30
QUERY_ROWS = 200
# A searched query counts this many products' worth per search, at most (a bot that
# repeats one query cannot outweigh the catalogue).
QUERY_WEIGHT, QUERY_CAP = 2, 50
# The recent search events read back to find a shopper's distinct recent queries.
RECENT_EVENTS = 50
CACHE_SECONDS = 60
# Categories whose name holds the last typed word, looked at for a word starting with it.
CATEGORY_ROWS = 200


@dataclass
class Suggestion:
    kind: str  # product, brand, category; in the search box also query, recent
    id: int | None
    label: str


def search_autocomplete(*, prefix: str, limit: int = AUTOCOMPLETE_LIMIT) -> list[Suggestion]:
    """Completions for a partly typed query: a few brands and categories with a word
    starting with each typed word, then the most popular products matching every word
    as a prefix."""
    terms = query_terms((prefix or "").strip()[:MAX_QUERY_LENGTH])
    if not terms:
        return []
    limit = max(1, min(limit, 20))
    out = _brands(terms) + _categories(terms)
    products = active_matches(terms).order_by("-popularity", "pk")
    for pk, title in products.values_list("pk", "title")[: max(limit - len(out), 1)]:
        out.append(Suggestion("product", pk, title))
    return out[:limit]


def search_box_suggestions(
    *, prefix: str, shopper: Shopper | None, limit: int = SEARCH_BOX_LIMIT
) -> list[Suggestion]:
    """The storefront box's list: the shopper's recent searches that start with the
    typed text, completed words, then ``search_autocomplete``'s. With nothing typed,
    only recent searches. Recent searches are the shopper's own (their account's, or
    their session's when signed out), and none after an opt-out of personalization."""
    prefix = (prefix or "").strip()[:MAX_QUERY_LENGTH]
    recent = recent_searches(shopper=shopper, prefix=prefix) if shopper else []
    if not query_terms(prefix):
        return recent[:RECENT_WHEN_EMPTY]
    out, seen = [], set()
    for suggestion in recent[:RECENT] + _cached_completions(prefix, limit):
        key = (suggestion.kind in ("query", "recent"), normalize_query(suggestion.label))
        if key not in seen:
            seen.add(key)
            out.append(suggestion)
    return out[:limit]


def recent_searches(*, shopper: Shopper, prefix: str = "") -> list[Suggestion]:
    """The shopper's latest distinct queries, newest first, those whose words start as
    ``prefix``'s do."""
    if not shopper.personalize:
        return []
    if shopper.user_id is not None:
        events = Event.objects.filter(user_id=shopper.user_id)
    elif shopper.session_id:
        events = Event.objects.filter(session_id=shopper.session_id, user__isnull=True)
    else:
        return []
    queries = (
        events.filter(event_type=EventType.SEARCH)
        .exclude(query="")
        .order_by("-occurred_at", "-pk")
        .values_list("query", flat=True)[:RECENT_EVENTS]
    )
    typed = normalize_query(prefix)
    out, seen = [], set()
    for query in queries:
        key = normalize_query(query)
        if key and key not in seen and key.startswith(typed):
            seen.add(key)
            out.append(Suggestion("recent", None, query))
    return out


def _cached_completions(prefix: str, limit: int) -> list[Suggestion]:
    """Completed words, then brands, categories and products: the same for everybody,
    cached briefly per search generation (the catalogue and rules unchanged)."""
    digest = hashlib.sha1(normalize_query(prefix).encode()).hexdigest()
    key = f"shop:search:box:{search_generation()}:{limit}:{digest}"
    cached = cache_get(key)
    if cached is not None:
        return [Suggestion(*row) for row in cached]
    terms = query_terms(prefix)
    out = _completed_words(terms) + search_autocomplete(prefix=prefix, limit=limit)
    cache_set(key, [(s.kind, s.id, s.label) for s in out], CACHE_SECONDS)
    return out


def _completed_words(terms: list[str]) -> list[Suggestion]:
    """The typed words with the last one completed: words starting with it in the titles
    of the most popular products matching them all, ranked by those products' count
    plus the searches (with results) of queries holding the word."""
    *before, partial = terms
    sample = active_matches(terms).order_by("-popularity", "pk")[:WORD_SAMPLE]
    counts: Counter[str] = Counter()
    for title in sample.values_list("title", flat=True):
        counts.update({w for w in words(title) if w.startswith(partial)})
    if not counts:
        return []
    for word, searches in _searched_words(partial).items():
        if word in counts:
            counts[word] += min(searches, QUERY_CAP) * QUERY_WEIGHT
    typed = " ".join(terms)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], len(item[0]), item[0]))
    labels = [" ".join([*before, word]) for word, _ in ranked]
    return [Suggestion("query", None, label) for label in labels if label != typed][:WORDS]


def _searched_words(partial: str) -> Counter[str]:
    """Words starting with ``partial`` in the queries searched lately, with the number
    of searches that found something."""
    since = timezone.localdate() - timedelta(days=QUERY_WINDOW_DAYS)
    rows = (
        SearchQueryDay.objects.filter(day__gte=since, query__contains=partial)
        .values("query")
        .annotate(found=Sum(F("searches") - F("zero_result_searches")))
        .filter(found__gt=0)
        .order_by("-found")
        .values_list("query", "found")[:QUERY_ROWS]
    )
    counts: Counter[str] = Counter()
    for query, found in rows:
        for word in set(words(query)):
            if word.startswith(partial):
                counts[word] += found
    return counts


def _brands(terms: list[str]) -> list[Suggestion]:
    prefix = " ".join(terms)
    brands = Brand.objects.filter(name__istartswith=prefix).order_by("name")
    return [Suggestion("brand", pk, name) for pk, name in brands.values_list("pk", "name")[:BRANDS]]


def _categories(terms: list[str]) -> list[Suggestion]:
    """Categories whose name has a word starting with the last term and whose path has
    one starting with each other term (``hair sha``: Beauty > Hair Care > Shampoos)."""
    *before, partial = terms
    rows = (
        Category.objects.filter(name__icontains=partial)
        .order_by("depth", "name")
        .values_list("pk", "name", "path")[:CATEGORY_ROWS]
    )
    out = []
    for pk, name, path in rows:
        path_words = words(path or name)
        if any(w.startswith(partial) for w in words(name)) and all(
            any(w.startswith(t) for w in path_words) for t in before
        ):
            out.append(Suggestion("category", pk, path or name))
            if len(out) == CATEGORIES:
                break
    return out
