"""The words of a query and the key of staff rules."""

from shop.text import MAX_TERMS, normalize_query, query_terms


def test_normalize_query_lowercases_and_collapses_words():
    assert normalize_query("  Sanding,  ROLLS! ") == "sanding rolls"


def test_query_terms_are_distinct_lowercase_words_split_at_underscores():
    assert query_terms("Grit grit_80 ROLL") == ["grit", "80", "roll"]
    assert len(query_terms(" ".join(f"w{n}" for n in range(40)))) == MAX_TERMS
