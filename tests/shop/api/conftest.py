from decimal import Decimal

import pytest

from shop.models import Category
from tests.factories import BrandFactory, ProductFactory
from tests.shop.api.helpers import PRODUCTS_URL, FakePersonalizer


@pytest.fixture
def catalogue():
    """Beauty > Lipstick and Hair; RED-1 and MATTE-1 (sold out) lipsticks, a shampoo
    without brand or price, and an inactive lipstick GONE-1."""
    beauty = Category.objects.create(name="Beauty", slug="beauty")
    lipstick = Category.objects.create(name="Lipstick", parent=beauty, slug="lipstick")
    hair = Category.objects.create(name="Hair", slug="hair")
    glow = BrandFactory(name="Glowco", slug="glowco")
    acme = BrandFactory(name="Acme", slug="acme")
    rows = {  # name: (sku, title, category, brand, price, stock)
        "red": ("RED-1", "Red velvet lipstick", lipstick, glow, Decimal("10.00"), 5),
        "matte": ("MATTE-1", "Matte lipstick", lipstick, acme, Decimal("20.00"), 0),
        "shampoo": ("SHAMPOO-1", "Shampoo", hair, None, None, 1),
    }
    products = {
        name: ProductFactory(
            sku=sku,
            title=title,
            category=category,
            brand=brand,
            price=price,
            currency="EUR" if price else "",
            stock=stock,
        )
        for name, (sku, title, category, brand, price, stock) in rows.items()
    }
    products["gone"] = ProductFactory(
        sku="GONE-1", title="Gone lipstick", category=lipstick, brand=glow, is_active=False
    )
    categories = {"beauty": beauty, "lipstick": lipstick, "hair": hair}
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
