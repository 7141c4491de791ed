"""Suggested fixes for queries without results, as the search dashboard offers them:
whether the query finds something today (a synonym, a rule or new products since), a
spelling from the catalogue's words that has results (a one-click synonym), the
synonym and rules the query already has, and prefilled links to write a synonym or a
rule by hand.

A few product-index queries per zero-result query shown (the page shows at most
twenty): the full-text GIN index, and on Postgres the trigram index of did-you-mean.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.cache import cache
from django.urls import reverse

from shop.models import SearchRule, SearchRuleAction, Synonym, SynonymKind
from shop.search.cache import search_generation
from shop.search.retrieval import active_matches
from shop.search.spelling import did_you_mean
from shop.text import normalize_query, query_terms

# A spelling suggestion is kept this long (or until the catalogue changes).
SPELLING_CACHE_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class ZeroResultFix:
    query: str
    finds_now: bool  # the query retrieves products today (or a rule pins some)
    spelling: str  # a respelling with results, else ""
    synonym: Synonym | None  # the query's own synonym (active or not), if any
    rules: int  # active rules for the query
    add_synonym_url: str
    add_rule_url: str
    explain_url: str
    synonym_url: str  # the synonym's change page, when it has one


def zero_result_fixes(queries: list[str]) -> dict[str, ZeroResultFix]:
    """A fix per query (normalized as the rollups store them)."""
    keys = {query: normalize_query(query) for query in queries}
    synonyms = {s.term: s for s in Synonym.objects.filter(term__in=set(keys.values()))}
    rule_counts: dict[str, int] = {}
    pinned: set[str] = set()
    for key, action in SearchRule.objects.filter(
        query__in=set(keys.values()), is_active=True
    ).values_list("query", "action"):
        rule_counts[key] = rule_counts.get(key, 0) + 1
        if action == SearchRuleAction.PIN:
            pinned.add(key)
    fixes = {}
    for query, key in keys.items():
        terms = query_terms(query)
        finds_now = key in pinned or (bool(terms) and active_matches(terms).exists())
        synonym = synonyms.get(key)
        fixes[query] = ZeroResultFix(
            query=query,
            finds_now=finds_now,
            spelling="" if finds_now else _spelling_with_results(terms),
            synonym=synonym,
            rules=rule_counts.get(key, 0),
            add_synonym_url=_admin_add("admin:shop_synonym_add", term=key or query),
            add_rule_url=_admin_add(
                "admin:shop_searchrule_add", query=key or query, action=SearchRuleAction.PIN
            ),
            explain_url=f"{reverse('admin:shop_searchrule_explain')}?{urlencode({'q': query})}",
            synonym_url=reverse("admin:shop_synonym_change", args=[synonym.pk]) if synonym else "",
        )
    return fixes


def _spelling_with_results(terms: list[str]) -> str:
    """The query's did-you-mean spelling, when that spelling finds products.

    A did-you-mean is a trigram search over the catalogue's titles (~90 ms on 50,000
    products, measured by bench.dashboards): kept in the cache until the catalogue,
    rules or synonyms change (the search generation), so that the page pays it once per
    zero-result query, not on every view."""
    if not terms:
        return ""
    key = "dash:spelling:{}:{}".format(
        search_generation(), hashlib.sha1(" ".join(terms).encode()).hexdigest()
    )
    cached = cache.get(key)
    if cached is not None:
        return cached
    suggestion = did_you_mean(terms=terms)
    if not (suggestion and active_matches(query_terms(suggestion)).exists()):
        suggestion = ""
    cache.set(key, suggestion, SPELLING_CACHE_SECONDS)
    return suggestion


def _admin_add(url_name: str, **initial: str) -> str:
    """The admin's add form with fields prefilled (it reads initial values from GET)."""
    return f"{reverse(url_name)}?{urlencode(initial)}"


# What the one-click fix creates: the query searched as its respelling.
ONE_CLICK_KIND = SynonymKind.REPLACE
