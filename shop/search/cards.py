"""Product cards: what a result list shows of each product, cached with the matches.

The re-rank window's rows are read once, stored with the cached matches as one pickled
tuple per product, and a page builds its products from them with ``Model.from_db``:
the same instances (same loaded and deferred fields) that
``select_related("category", "brand").only(*HIT_FIELDS)`` gives, with no query.
"""

from __future__ import annotations

import pickle

from django.db import connection

from shop.models import Brand, Category, Product

# What result lists show (storefront cards, API results, explain mode): loading only
# these skips the JSON attributes, timestamps and the categories' tree columns.
HIT_FIELDS = (
    "sku",
    "title",
    "description",
    "price",
    "currency",
    "stock",
    "is_active",
    "image_url",
    "category__name",
    "category__path",
    "brand__name",
)
# The product columns of HIT_FIELDS in model order, with the category's and brand's.
_PRODUCT_FIELDS = [
    f.attname
    for f in Product._meta.concrete_fields
    if f.primary_key or f.name in HIT_FIELDS or f.name in ("category", "brand")
]
_CATEGORY_FIELDS = [
    f.attname for f in Category._meta.concrete_fields if f.attname in ("id", "name", "path")
]
_BRAND_FIELDS = [f.attname for f in Brand._meta.concrete_fields if f.attname in ("id", "name")]
_CATEGORY, _BRAND = Product._meta.get_field("category"), Product._meta.get_field("brand")

# (product values, category values or None, brand values or None)
CardRow = tuple[tuple, tuple | None, tuple | None]


def card_rows(ids: list[int]) -> dict[int, CardRow]:
    """{pk: card row} of the products that exist among ``ids``: plain tuples, cheap to
    cache and to read back with the matches."""
    rows = (
        Product.objects.filter(pk__in=ids)
        .order_by()
        .values_list(
            *_PRODUCT_FIELDS,
            *(f"category__{f}" for f in _CATEGORY_FIELDS),
            *(f"brand__{f}" for f in _BRAND_FIELDS),
        )
    )
    n, c = len(_PRODUCT_FIELDS), len(_CATEGORY_FIELDS)
    return {
        row[0]: (
            row[:n],
            row[n : n + c] if row[n] is not None else None,
            row[n + c :] if row[n + c] is not None else None,
        )
        for row in rows
    }


def pickled_cards(ids: list[int]) -> dict[int, bytes]:
    """{pk: pickled card row}: only the rows of a page are unpickled, and bytes are the
    most compact form for a process to keep."""
    return {
        pk: pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL)
        for pk, row in card_rows(ids).items()
    }


def products_shown(ids: list[int], cards: dict[int, bytes]) -> dict[int, Product]:
    """The products of a page, by id: from the cached window's cards, and from the
    database for products past the window. Every call builds new product instances, so
    a view may set attributes on them; the products of a page that share a category or
    brand share its instance, as ``prefetch_related`` would."""
    rows = {pk: pickle.loads(cards[pk]) for pk in ids if pk in cards}
    missing = [pk for pk in ids if pk not in rows]
    if missing:
        rows.update(card_rows(missing))
    db = connection.alias
    categories: dict[tuple, Category] = {}
    brands: dict[tuple, Brand] = {}
    products = {}
    for pk, (values, category, brand) in rows.items():
        product = products[pk] = Product.from_db(db, _PRODUCT_FIELDS, values)
        _CATEGORY.set_cached_value(
            product, _shared(categories, Category, _CATEGORY_FIELDS, category, db)
        )
        _BRAND.set_cached_value(product, _shared(brands, Brand, _BRAND_FIELDS, brand, db))
    return products


def _shared(instances: dict, model, attnames: list[str], values: tuple | None, db: str):
    """The page's one instance of ``model`` loaded from ``values`` (None for None)."""
    if values is None:
        return None
    instance = instances.get(values)
    if instance is None:
        instance = instances[values] = model.from_db(db, attnames, values)
    return instance
