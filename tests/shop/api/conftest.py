from decimal import Decimal

import pytest

from tests.factories import BrandFactory, ProductFactory, category_tree, products_from_rows
from tests.shop.api.helpers import PRODUCTS_URL, FakePersonalizer


@pytest.fixture
def catalogue():
    """Beauty > Lipstick and Hair; RED-1 and MATTE-1 (sold out) lipsticks, a shampoo
    without brand or price, and an inactive lipstick GONE-1."""
    categories = category_tree("Beauty > Lipstick", "Hair")
    lipstick, hair = categories["lipstick"], categories["hair"]
    glow, acme = (BrandFactory(name=name, slug=name.lower()) for name in ("Glowco", "Acme"))
    products = products_from_rows(
        "sku title category brand price currency stock",
        {
            "red": ("RED-1", "Red velvet lipstick", lipstick, glow, Decimal("10.00"), "EUR", 5),
            "matte": ("MATTE-1", "Matte lipstick", lipstick, acme, Decimal("20.00"), "EUR", 0),
            "shampoo": ("SHAMPOO-1", "Shampoo", hair, None, None, "", 1),
        },
    )
    products["gone"] = ProductFactory(
        sku="GONE-1", title="Gone lipstick", category=lipstick, brand=glow, is_active=False
    )
    return {**categories, "glow": glow, "acme": acme, **products}


@pytest.fixture
def fake_personalizer(settings):
    FakePersonalizer.calls = []
    FakePersonalizer.answer = []
    settings.SHOP_PERSONALIZER = "tests.shop.api.helpers.FakePersonalizer"
    return FakePersonalizer


@pytest.fixture
def api_request(client):
    """A real versioned API request, for the product URLs serializers build."""
    return client.get(PRODUCTS_URL).renderer_context["request"]
