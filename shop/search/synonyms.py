"""Staff synonyms (shop.models.Synonym) applied to a query's words before lexical
retrieval: each word, or run of words that is a synonym's term, becomes a group of
alternatives, and a product must match one alternative of every group.

"sneakers white" with the synonym sneakers -> trainers, running shoes (kind "expand")
retrieves ``(sneakers | trainers | (running & shoes)) & white``; with kind "replace"
the term itself is dropped from its group (a misspelling that matches nothing useful).

The synonyms are few (staff write them): each process keeps them all, read again when
the search generation changes (saving or deleting one starts a new generation,
``shop.search.cache``) or after ``SYNONYMS_LOCAL_SECONDS``.
"""

from __future__ import annotations

import threading
import time

from shop.models import (
    SYNONYM_TERM_MAX_WORDS,
    Synonym,
    SynonymKind,
    synonym_alternatives_parse,
)
from shop.search.cache import search_generation

# A word or phrase a product must match: all its words (as prefixes on Postgres).
Alternative = tuple[str, ...]
# One of the query's words (or a synonym's phrase of them): any alternative will do.
TermGroup = tuple[Alternative, ...]

# Read again at least this often, whatever the generation (a bulk update sends no
# signal; without the shared cache the generation never changes).
SYNONYMS_LOCAL_SECONDS = 60.0

_lock = threading.Lock()
# (generation, time.monotonic() when read, {term: (kind, alternatives)}) of this process.
_loaded: list = [None, 0.0, {}]


def synonyms_active() -> dict[str, tuple[str, tuple[str, ...]]]:
    """{normalized term: (kind, normalized alternatives)} of the active synonyms."""
    generation = search_generation()
    with _lock:
        loaded_generation, read_at, synonyms = _loaded
        if (
            loaded_generation == generation
            and generation != 0
            and time.monotonic() - read_at < SYNONYMS_LOCAL_SECONDS
        ):
            return synonyms
    synonyms = {}
    for term, alternatives, kind in Synonym.objects.filter(is_active=True).values_list(
        "term", "alternatives", "kind"
    ):
        parsed = tuple(synonym_alternatives_parse(alternatives, term=term))
        if term and parsed:
            synonyms[term] = (kind, parsed)
    with _lock:
        _loaded[:] = [generation, time.monotonic(), synonyms]
    return synonyms


def synonyms_forget() -> None:
    """Read the synonyms again on the next search (a synonym changed in this process)."""
    with _lock:
        _loaded[:] = [None, 0.0, {}]


def term_groups(terms: list[str]) -> list[TermGroup]:
    """The query's words as groups of alternatives, synonyms applied (the longest
    matching run of words first, from the left)."""
    synonyms = synonyms_active() if terms else {}
    if not synonyms:
        return [((term,),) for term in terms]
    groups: list[TermGroup] = []
    position = 0
    while position < len(terms):
        for length in range(min(SYNONYM_TERM_MAX_WORDS, len(terms) - position), 0, -1):
            phrase = " ".join(terms[position : position + length])
            if phrase in synonyms:
                groups.append(_group(phrase, *synonyms[phrase]))
                position += length
                break
        else:
            groups.append(((terms[position],),))
            position += 1
    return groups


def _group(phrase: str, kind: str, alternatives: tuple[str, ...]) -> TermGroup:
    own = () if kind == SynonymKind.REPLACE else (tuple(phrase.split()),)
    return (*own, *(tuple(a.split()) for a in alternatives))


def group_words(groups: list[TermGroup]) -> list[str]:
    """Every distinct word of the groups, in order (what a text score weighs)."""
    return list(dict.fromkeys(word for group in groups for alt in group for word in alt))


def synonym_add(*, term: str, alternatives: str, kind: str = SynonymKind.EXPAND, note: str = ""):
    """Create a synonym (staff; the search dashboard's one-click fix). Raises
    ValidationError when it is not valid or its term already has one."""
    synonym = Synonym(term=term, alternatives=alternatives, kind=kind, note=note)
    synonym.full_clean()  # also refuses a term that already has a synonym (unique)
    synonym.save()
    return synonym
