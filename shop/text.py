"""The words of a query: how search, staff rules and suggestions split and key text.

Imports nothing from the shop, so that models (``SearchRule.save``) can use it too.
"""

from __future__ import annotations

import re

MAX_QUERY_LENGTH = 500
MAX_TERMS = 16

# Letters and digits; "_" splits words as Postgres' parser does.
TERM_RE = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """The lower-cased words of ``text``, in order, repeats kept."""
    return [t.lower() for t in TERM_RE.findall(text)]


def query_terms(text: str) -> list[str]:
    """The distinct lower-cased words of a query, at most MAX_TERMS of them."""
    return list(dict.fromkeys(words(text)))[:MAX_TERMS]


def normalize_query(query: str) -> str:
    """Lower-case words joined by single spaces: the key of staff search rules."""
    return " ".join(words(query or ""))[:MAX_QUERY_LENGTH]
