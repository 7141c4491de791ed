"""Serializers of the mobile API (v1) that several views share: products, categories,
search, recommendations, events, errors. Those of one view live with it (shop.api.auth,
shop.api.me_serializers).

Reading serializers only shape responses. The event batch serializers describe the
request for the OpenAPI schema; the rows themselves are validated by
``shop.events.validation.parse_event``, the same rules as the file importers.
"""

from __future__ import annotations

import math
from decimal import Decimal

from django.urls import get_script_prefix, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from shop.events.validation import (
    MAX_EVENT_ID,
    MAX_QUERY,
    MAX_SESSION,
    MAX_SKU,
    MAX_SOURCE,
    MAX_USERNAME,
)
from shop.models import Brand, Category, Event, EventType, Product

# --------------------------------------------------------------------------- catalogue

CENT = Decimal("0.01")


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "path"]
        read_only_fields = fields


class BrandRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "name"]
        read_only_fields = fields


class ProductSerializer(serializers.ModelSerializer):
    """A product as the app shows it. ``price`` is a decimal string, null when unknown."""

    category = CategoryRefSerializer(read_only=True, allow_null=True)
    brand = BrandRefSerializer(read_only=True, allow_null=True)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=True, allow_null=True, read_only=True
    )
    in_stock = serializers.BooleanField(read_only=True)
    image_url = serializers.SerializerMethodField(help_text="The product's image; null when none.")
    url = serializers.SerializerMethodField(help_text="This product's API resource.")

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "title",
            "description",
            "category",
            "brand",
            "price",
            "currency",
            "in_stock",
            "image_url",
            "url",
        ]
        read_only_fields = fields

    def to_representation(self, product: Product) -> dict:
        """The declared fields, built directly: DRF's field-by-field walk was a large share
        of a search's CPU (bench.search_load). Tests check that the output is identical to
        the generic one."""
        category, brand = product.category, product.brand
        price = product.price
        return {
            "id": product.pk,
            "sku": product.sku,
            "title": product.title,
            "description": product.description,
            "category": None
            if category is None
            else {"id": category.pk, "name": category.name, "path": category.path},
            "brand": None if brand is None else {"id": brand.pk, "name": brand.name},
            "price": None if price is None else f"{price.quantize(CENT):f}",
            "currency": product.currency,
            "in_stock": product.in_stock,
            "image_url": product.image_url or None,
            "url": self.get_url(product),
        }

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_image_url(self, product: Product) -> str | None:
        return product.image_url or None

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, product: Product) -> str:
        # URL resolution per product showed in the search load benchmark: the path is
        # resolved once per process and API version, the absolute URL once per response.
        template = self.context.get(_URL_TEMPLATE)
        if template is None:
            request = self.context.get("request")
            version = getattr(request, "version", None)
            key = (version, get_script_prefix())
            path = _product_paths.get(key)
            if path is None:
                path = _product_paths[key] = reverse(
                    f"{version}:product-detail" if version else "product-detail",
                    kwargs={"pk": _URL_SENTINEL},
                )
            sample = request.build_absolute_uri(path) if request is not None else path
            template = self.context[_URL_TEMPLATE] = sample.rpartition(str(_URL_SENTINEL))
        head, _, tail = template
        return f"{head}{product.pk}{tail}"


# The context key of the product URL with the id cut out, and the id used to find it.
_URL_TEMPLATE = "_product_url_template"
_URL_SENTINEL = 918273645546372819
# The product resource's path (with the sentinel id) per API version and script prefix,
# resolved once.
_product_paths: dict[tuple[str | None, str], str] = {}


class ScoredProductSerializer(ProductSerializer):
    """A product with the score and the human-readable reason it was chosen."""

    score = serializers.SerializerMethodField()
    reason = serializers.CharField(read_only=True, default="")

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "score", "reason"]
        read_only_fields = fields

    def to_representation(self, product: Product) -> dict:
        data = super().to_representation(product)
        data["score"] = self.get_score(product)
        reason = getattr(product, "reason", "")
        data["reason"] = None if reason is None else str(reason)
        return data

    @extend_schema_field(OpenApiTypes.DOUBLE)
    def get_score(self, product) -> float:
        score = float(getattr(product, "score", 0.0) or 0.0)
        # A plugged-in personalizer must never make the response invalid JSON.
        return score if math.isfinite(score) else 0.0


class CategoryNodeSerializer(serializers.Serializer):
    """A category with the categories below it (``shop.selectors.CategoryNode``)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    path = serializers.CharField(help_text="The names from the root, joined by ' > '.")
    product_count = serializers.IntegerField(
        help_text="Active products in this category and every category below it."
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["children"] = CategoryNodeSerializer(many=True)
        return fields


# ------------------------------------------------------------------------------ search


class FacetValueSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class FacetsSerializer(serializers.Serializer):
    category = FacetValueSerializer(many=True)
    brand = FacetValueSerializer(many=True)


class SearchResponseSerializer(serializers.Serializer):
    query = serializers.CharField()
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    num_pages = serializers.IntegerField()
    personalized = serializers.BooleanField()
    did_you_mean = serializers.CharField(
        help_text="For a query without results: a spelling that has some, else empty."
    )
    corrected_query = serializers.CharField(
        help_text="Set when the results are those of did_you_mean (typo tolerance)."
    )
    search_event_id = serializers.IntegerField(
        allow_null=True,
        help_text="The recorded search event; send it as context.search_event_id with "
        "click, add_to_cart and purchase events that follow from these results.",
    )
    results = ScoredProductSerializer(many=True)
    facets = FacetsSerializer()

    def to_representation(self, payload: dict) -> dict:
        """The declared fields, built directly (as ProductSerializer does) rather than by
        DRF's walk over every result and facet value. Tests check that the output is
        identical to the generic one."""
        product = ScoredProductSerializer(context=self.context)
        event_id = payload["search_event_id"]
        facets = payload["facets"]
        return {
            "query": _text(payload["query"]),
            "total": int(payload["total"]),
            "page": int(payload["page"]),
            "num_pages": int(payload["num_pages"]),
            "personalized": bool(payload["personalized"]),
            "did_you_mean": _text(payload["did_you_mean"]),
            "corrected_query": _text(payload["corrected_query"]),
            "search_event_id": None if event_id is None else int(event_id),
            "results": [product.to_representation(p) for p in payload["results"]],
            "facets": {
                kind: [
                    {"id": int(f.id), "name": _text(f.name), "count": int(f.count)}
                    for f in facets[kind]
                ]
                for kind in ("category", "brand")
            },
        }


def _text(value) -> str | None:
    """A CharField's representation: str, and None as null."""
    return None if value is None else str(value)


class AutocompleteSuggestionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["product", "brand", "category"])
    id = serializers.IntegerField()
    label = serializers.CharField()


class AutocompleteResponseSerializer(serializers.Serializer):
    query = serializers.CharField()
    suggestions = AutocompleteSuggestionSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    """Every 4xx and 5xx answer of the API (shop.api.errors)."""

    code = serializers.CharField(
        help_text="Stable, machine-readable: invalid, not_authenticated, permission_denied, "
        "not_found, throttled, ..."
    )
    message = serializers.CharField(help_text="For people; may change.")
    details = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each field (dotted for nested input) at fault, with its reasons; {} when "
        "no field is.",
    )


# ------------------------------------------------------------------------------ events


class EventInSerializer(serializers.Serializer):
    """One event of a batch (documentation only: rows are checked by parse_event)."""

    event_id = serializers.CharField(
        required=False,
        max_length=MAX_EVENT_ID,
        help_text="The client's id of the event; (source, event_id) makes re-sending safe. "
        "When absent, the row's content is its identity.",
    )
    type = serializers.ChoiceField(choices=EventType.choices)
    sku = serializers.CharField(
        required=False,
        max_length=MAX_SKU,
        help_text="Required except for search and impression events (an impression names none).",
    )
    value = serializers.FloatField(
        required=False, allow_null=True, help_text="Rating (1-5, required for ratings) or quantity."
    )
    query = serializers.CharField(
        required=False, max_length=MAX_QUERY, help_text="Required for search events."
    )
    position = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    occurred_at = serializers.CharField(
        help_text="ISO 8601 (e.g. 2024-05-01T13:45:00Z; naive means UTC) or Unix seconds; "
        "at most a day ahead of the server's clock."
    )
    context = serializers.DictField(
        required=False,
        help_text='A search: {"results", "shown": [product ids], "personalized"}; an impression '
        '(a recommendation list shown): {"list": "recommendations" | "similar", "shown": '
        '[product ids]}; a click on a recommendation card: {"list", "impression": <the '
        'impression event\'s id>} with its position; a purchase: {"price": unit price paid}.',
    )
    session_id = serializers.CharField(
        required=False,
        max_length=MAX_SESSION,
        help_text="Anonymous callers: the app's own anonymous id (default: the session).",
    )
    user = serializers.CharField(
        required=False,
        max_length=MAX_USERNAME,
        help_text="External user id. Only staff or holders of shop.add_event may set it; "
        "ignored for everybody else.",
    )
    source = serializers.CharField(
        required=False,
        max_length=MAX_SOURCE,
        help_text="Only staff or holders of shop.add_event may set it (default: app).",
    )


class EventBatchSerializer(serializers.Serializer):
    events = EventInSerializer(many=True, max_length=500)


class RowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(
        allow_null=True, help_text="The row's index in events; null for the body itself."
    )
    field = serializers.CharField()
    reason = serializers.CharField()


class EventBatchResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField(
        help_text="Rows already stored (or repeated in the batch) with the same event id."
    )
    errors = RowErrorSerializer(many=True)


class MyEventSerializer(serializers.ModelSerializer):
    """One of the shopper's own events."""

    event_id = serializers.SerializerMethodField(
        help_text="The id the app sent (or the server gave)."
    )
    type = serializers.CharField(source="event_type", read_only=True)
    product_id = serializers.IntegerField(read_only=True, allow_null=True)
    sku = serializers.CharField(source="product.sku", read_only=True, allow_null=True, default=None)

    def get_event_id(self, event: Event) -> str:
        # Shoppers' ids are stored scoped by the actor ("u42:<id>"); show the app its own id.
        prefix = f"u{event.user_id}:"
        identifier = event.client_event_id
        return identifier[len(prefix) :] if identifier.startswith(prefix) else identifier

    class Meta:
        model = Event
        fields = [
            "id",
            "event_id",
            "type",
            "product_id",
            "sku",
            "value",
            "query",
            "position",
            "context",
            "source",
            "occurred_at",
        ]
        read_only_fields = fields
