"""A small catalogue of tools for the search tests, searched with the shop's default
personalizer."""

from decimal import Decimal

import pytest

from shop.models import Category
from tests.factories import BrandFactory, ProductFactory


@pytest.fixture(autouse=True)
def _shop_default_personalizer(settings):
    settings.SHOP_PERSONALIZER = "shop.personalization.DefaultPersonalizer"


@pytest.fixture
def tools():
    sanding = Category.objects.create(name="Sanding Rolls", slug="sanding-rolls")
    tape = Category.objects.create(name="Tape", slug="tape")
    porter = BrandFactory(name="Porter-Cable", slug="porter-cable")
    scotch = BrandFactory(name="Scotch", slug="scotch")
    return {
        "roll80": ProductFactory(title="80 grit sanding roll", category=sanding, brand=porter),
        "roll120": ProductFactory(title="120 grit sanding roll", category=sanding, brand=porter),
        "tape": ProductFactory(
            title="Masking tape",
            category=tape,
            brand=scotch,
            description="Sticks to sanded wood",
            price=Decimal("3.50"),
        ),
        "gloves": ProductFactory(title="Nitrile gloves", category=tape, brand=scotch, stock=0),
    }
