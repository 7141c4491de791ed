"""Shared by the search tests: run a search as the storefront parses it."""

from django.urls import reverse

from shop.search.params import SearchParams
from shop.search.service import search_products
from shop.shoppers import Shopper

SEARCH_URL = reverse("shop:search")
API_SEARCH_URL = reverse("v1:search")


def run(query: str = "", shopper: Shopper | None = None, **params):
    data = {"q": query, **{k: str(v) for k, v in params.items()}}
    return search_products(params=SearchParams.from_mapping(data), shopper=shopper or Shopper())


def titles(result) -> list[str]:
    return [h.product.title for h in result.hits]
