"""Retrieval: which products match a query on both databases, and in what text order."""

import pytest
from django.db import connection

from shop.models import Brand, Category, SearchRule
from shop.search.cache import search_generation
from shop.search.matches import matches_for
from shop.search.params import SearchParams
from tests.factories import BrandFactory, ProductFactory
from tests.shop.search.helpers import run, titles

pytestmark = pytest.mark.django_db


def test_every_word_must_match_title_brand_or_category(tools):
    assert set(titles(run("sanding porter"))) == {"80 grit sanding roll", "120 grit sanding roll"}
    assert titles(run("scotch masking")) == ["Masking tape"]


def test_a_word_prefix_matches(tools):
    assert set(titles(run("sand"))) >= {"80 grit sanding roll", "120 grit sanding roll"}


def test_title_matches_rank_above_brand_and_category_matches(tools):
    ProductFactory(title="Bench", category=tools["tape"].category, brand=BrandFactory())
    result = run("tape")
    assert titles(result)[0] == "Masking tape"


def test_results_have_the_same_shape_on_both_databases(tools):
    result = run("roll")
    assert result.total == 2
    assert {type(h.score) for h in result.hits} == {float}
    assert all("text" in h.components for h in result.hits)
    assert {f.name for f in result.facets["brand"]} == {"Porter-Cable"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Postgres full-text only")
def test_search_vector_follows_renamed_brands_and_categories(tools):
    assert run("festool").total == 0
    # A database trigger rewrites the products' vectors; saving (as the admin does) also
    # starts a new generation of cached results, so the change shows at once.
    brand = Brand.objects.get(pk=tools["roll80"].brand_id)
    brand.name = "Festool"
    brand.save()
    category = Category.objects.get(pk=tools["tape"].category_id)
    category.name = "Adhesives"
    category.save()
    assert run("festool").total == 2
    assert run("adhesives").total == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Postgres full-text only")
def test_description_words_match_with_the_lowest_weight(tools):
    ProductFactory(title="Wood glue", description="for wood", category=tools["tape"].category)
    result = run("wood")
    assert titles(result) == ["Wood glue", "Masking tape"]


def test_candidates_carry_each_products_brand_pinned_ones_too(tools):
    SearchRule.objects.create(query="roll", product=tools["gloves"], action="pin")
    found = matches_for(SearchParams.from_mapping({"q": "roll"}), search_generation())
    candidates = found.ranking_input()[0]
    brands = {p.pk: p.brand_id for p in tools.values()}
    assert len(candidates.brand_ids) == len(candidates.product_ids) == 3
    assert dict(zip(candidates.product_ids, candidates.brand_ids, strict=True)) == {
        pk: brands[pk] for pk in candidates.product_ids
    }
