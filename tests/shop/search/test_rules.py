"""Staff rules (pin, boost, ban) and products in stock first."""

import pytest

from shop.models import Product, SearchRule
from tests.shop.search.helpers import run, titles

pytestmark = pytest.mark.django_db


def test_a_banned_product_disappears_from_results_total_and_facets(tools):
    SearchRule.objects.create(query="Scotch", product=tools["tape"], action="ban")
    result = run("scotch")
    assert titles(result) == ["Nitrile gloves"]
    assert result.total == 1
    assert run("tape").total == 2  # other queries are unaffected


def test_a_pinned_product_comes_first_even_out_of_stock(tools):
    SearchRule.objects.create(query="  SCOTCH ", product=tools["gloves"], action="pin")
    assert SearchRule.objects.get().query == "scotch"
    assert titles(run("scotch")) == ["Nitrile gloves", "Masking tape"]


def test_a_pin_shows_a_product_whose_text_does_not_match_the_query(tools):
    SearchRule.objects.create(query="roll", product=tools["gloves"], action="pin")
    result = run("roll")
    assert titles(result)[0] == "Nitrile gloves"
    assert result.total == 3
    # The shopper's filters still apply to it, and other queries are unaffected.
    assert "Nitrile gloves" not in titles(run("roll", brand=tools["roll80"].brand_id))
    assert "Nitrile gloves" not in titles(run("grit"))


def test_a_boost_lifts_a_product_and_shows_in_the_components(tools):
    before = titles(run("roll"))
    last = [p for p in (tools["roll80"], tools["roll120"]) if p.title == before[-1]][0]
    SearchRule.objects.create(query="roll", product=last, action="boost", weight=5.0)
    result = run("roll")
    assert titles(result)[0] == last.title
    assert result.hits[0].components["rules"] == 5.0


def test_products_in_stock_come_before_those_out_of_stock(tools):
    tools["gloves"].title = "Masking gloves"
    tools["gloves"].save()
    Product.objects.filter(pk=tools["gloves"].pk).update(popularity=10_000)
    assert titles(run("masking")) == ["Masking tape", "Masking gloves"]


def test_a_new_staff_rule_applies_to_the_next_search(tools):
    assert run("roll").total == 2
    SearchRule.objects.create(query="roll", product=tools["roll120"], action="ban")
    assert titles(run("roll")) == ["80 grit sanding roll"]
