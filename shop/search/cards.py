"""Product cards: what a result list shows of each product, cached with the matches."""

from __future__ import annotations

import pickle

from django.db import connection
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

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
# The product columns a result list shows (``HIT_FIELDS``), in model order, and the
# category's and brand's.
_CARD_PRODUCT_FIELDS = [
    f.attname
    for f in Product._meta.concrete_fields
    if f.primary_key or f.name in HIT_FIELDS or f.name in ("category", "brand")
]
_CARD_CATEGORY_FIELDS = [
    f.attname for f in Category._meta.concrete_fields if f.attname in ("id", "name", "path")
]
_CARD_BRAND_FIELDS = [f.attname for f in Brand._meta.concrete_fields if f.attname in ("id", "name")]
_CARD_CATEGORY, _CARD_BRAND = Product._meta.get_field("category"), Product._meta.get_field("brand")


def card_rows(ids: list[int]) -> dict[int, bytes]:
    """{pk: pickled (product values, category values or None, brand values or None)}:
    plain tuples, cheap to cache and to read back with the matches."""
    rows = (
        Product.objects.filter(pk__in=ids)
        .order_by()
        .values_list(
            *_CARD_PRODUCT_FIELDS,
            *(f"category__{f}" for f in _CARD_CATEGORY_FIELDS),
            *(f"brand__{f}" for f in _CARD_BRAND_FIELDS),
        )
    )
    n, c = len(_CARD_PRODUCT_FIELDS), len(_CARD_CATEGORY_FIELDS)
    return {
        row[0]: pickle.dumps(
            (
                row[:n],
                row[n : n + c] if row[n] is not None else None,
                row[n + c :] if row[n + c] is not None else None,
            ),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        for row in rows
    }


def products_shown(ids: list[int], cards: dict[int, bytes]) -> dict[int, Product]:
    """The products of a page: built from the cached window's card rows (as a query
    with ``select_related(...).only(*HIT_FIELDS)`` would build them: same instances,
    same deferred fields), and from the database for products past the window.
    Every call builds new instances, so a view may set attributes on them.
    """
    db = connection.alias
    products: dict[int, Product] = {}
    missing = []
    for pk in ids:
        card = cards.get(pk)
        if card is None:
            missing.append(pk)
            continue
        values, category, brand = pickle.loads(card)
        product = _loaded_instance(Product, _CARD_PRODUCT_FIELDS, values, db)
        _CARD_CATEGORY.set_cached_value(
            product, category and _loaded_instance(Category, _CARD_CATEGORY_FIELDS, category, db)
        )
        _CARD_BRAND.set_cached_value(
            product, brand and _loaded_instance(Brand, _CARD_BRAND_FIELDS, brand, db)
        )
        products[pk] = product
    if missing:
        products.update(
            Product.objects.select_related("category", "brand").only(*HIT_FIELDS).in_bulk(missing)
        )
    return products


def _loaded_instance(model, attnames: list[str], values: tuple, db: str):
    """``model.from_db(db, attnames, values)``, without running ``Model.__init__``.

    An instance is its ``__dict__``: the loaded fields' values (a field that is absent
    is deferred) and a ModelState saying it came from ``db``. When something listens to
    pre_init or post_init for this model, ``from_db`` is used, so that it still hears them.
    """
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model.from_db(db, attnames, values)
    instance = model.__new__(model)
    fields = instance.__dict__
    fields.update(zip(attnames, values, strict=True))
    state = fields["_state"] = ModelState()
    state.adding = False
    state.db = db
    return instance
