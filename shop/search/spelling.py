"""Did you mean: a respelling of a query from the catalogue's own words."""

from __future__ import annotations

from difflib import SequenceMatcher, get_close_matches

from django.db import connection, transaction

from shop.caching import cache_get, cache_set
from shop.models import Product
from shop.search.retrieval import active_matches, is_postgres
from shop.text import words

# A word at least this similar (difflib ratio) replaces an unknown term.
SUGGEST_CUTOFF = 0.7
SUGGEST_MIN_LENGTH = 3
# pg_trgm word similarity that picks the titles to draw a suggestion's words from.
TRIGRAM_THRESHOLD = 0.4
VOCABULARY_CACHE_SECONDS = 600
VOCABULARY_KEY = "shop:search:vocabulary"


def did_you_mean(*, terms: list[str]) -> str:
    """A respelling of the query from the catalogue's words, or "" if none is better."""
    corrected, changed = [], False
    for term in terms:
        if len(term) < SUGGEST_MIN_LENGTH or active_matches([term]).exists():
            corrected.append(term)
            continue
        best = _closest_word(term)
        if best and best != term:
            corrected.append(best)
            changed = True
        else:
            corrected.append(term)
    return " ".join(corrected) if changed else ""


def _closest_word(term: str) -> str:
    if is_postgres():
        return _closest_title_word(term)
    matches = get_close_matches(term, _catalogue_vocabulary(), n=1, cutoff=SUGGEST_CUTOFF)
    return matches[0] if matches else ""


def _closest_title_word(term: str) -> str:
    """Titles holding a word like the term (trigram GIN index), then their closest word."""
    with transaction.atomic(), connection.cursor() as cursor:
        # The default threshold (0.6) misses one dropped letter in a short word.
        cursor.execute(f"SET LOCAL pg_trgm.word_similarity_threshold = {TRIGRAM_THRESHOLD}")
        cursor.execute(
            "SELECT title FROM shop_product WHERE is_active AND %s <%% title "
            "ORDER BY word_similarity(%s, title) DESC, popularity DESC LIMIT 20",
            [term, term],
        )
        similar = {w for (title,) in cursor.fetchall() for w in words(title)}
    similar.discard(term)
    scored = sorted(
        ((SequenceMatcher(None, term, w).ratio(), w) for w in similar),
        key=lambda x: (-x[0], x[1]),
    )
    return scored[0][1] if scored and scored[0][0] >= SUGGEST_CUTOFF else ""


def _catalogue_vocabulary() -> list[str]:
    """Words of active titles, brands and category names (SQLite path; cached)."""
    vocabulary = cache_get(VOCABULARY_KEY)
    if vocabulary is None:
        seen: set[str] = set()
        rows = Product.objects.filter(is_active=True).values_list(
            "title", "brand__name", "category__path"
        )
        for row in rows.iterator(chunk_size=2000):
            for text in row:
                if text:
                    seen.update(words(text))
        vocabulary = sorted(w for w in seen if len(w) >= SUGGEST_MIN_LENGTH)
        cache_set(VOCABULARY_KEY, vocabulary, VOCABULARY_CACHE_SECONDS)
    return vocabulary
