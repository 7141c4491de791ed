"""Typo tolerance: did-you-mean, and the results of the corrected spelling."""

import pytest

from shop.search.spelling import did_you_mean
from tests.shop.search.helpers import SEARCH_URL, run

pytestmark = pytest.mark.django_db


def test_a_misspelt_query_shows_the_results_of_the_corrected_spelling(tools):
    result = run("sandng rol")
    assert result.did_you_mean == "sanding rol" or result.did_you_mean.startswith("sanding")
    assert result.corrected_query == result.did_you_mean
    assert result.total == 2


def test_did_you_mean_keeps_words_that_match(tools):
    assert did_you_mean(terms=["masking", "tpae"]) in ("masking tape", "")
    assert did_you_mean(terms=["masking"]) == ""


def test_nothing_like_the_query_gives_no_suggestion(tools):
    result = run("xyzzyqwv")
    assert result.total == 0
    assert result.did_you_mean == ""
    assert result.corrected_query == ""


def test_the_storefront_shows_the_corrected_query(client, tools):
    response = client.get(SEARCH_URL, {"q": "sandng"})
    assert response.status_code == 200
    assert "Showing results for" in response.content.decode()
