"""Example payloads of the shopper endpoints' documentation (OpenApiExample values)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

PRODUCT = {
    "id": 42,
    "sku": "RED-1",
    "title": "Red velvet lipstick",
    "description": "A long-lasting matte red.",
    "category": {"id": 7, "name": "Lipstick", "path": "Beauty > Lipstick"},
    "brand": {"id": 3, "name": "Glowco"},
    "price": "10.00",
    "currency": "EUR",
    "in_stock": True,
    "image_url": None,
    "url": "https://shop.example.com/api/v1/products/42/",
}
SCORED_PRODUCT = {**PRODUCT, "score": 0.83, "reason": "Because you viewed Matte lipstick"}

PRODUCT_EXAMPLE = OpenApiExample("A product", value=PRODUCT, response_only=True)
# The examples of list responses are one item: drf-spectacular lists it (and wraps it
# in the pagination's envelope where there is one).
PRODUCT_LIST_EXAMPLE = OpenApiExample("Products", value=PRODUCT, response_only=True)
SCORED_LIST_EXAMPLE = OpenApiExample(
    "Recommended products", value=SCORED_PRODUCT, response_only=True
)

CATEGORY_TREE_EXAMPLE = OpenApiExample(
    "A category tree",
    value={
        "id": 1,
        "name": "Beauty",
        "slug": "beauty",
        "path": "Beauty",
        "product_count": 2,
        "children": [
            {
                "id": 7,
                "name": "Lipstick",
                "slug": "beauty-lipstick",
                "path": "Beauty > Lipstick",
                "product_count": 2,
                "children": [],
            }
        ],
    },
    response_only=True,
)

SEARCH_EXAMPLE = OpenApiExample(
    "A page of results",
    value={
        "query": "red lipstick",
        "total": 1,
        "page": 1,
        "num_pages": 1,
        "personalized": True,
        "did_you_mean": "",
        "corrected_query": "",
        "search_event_id": 1001,
        "results": [{**SCORED_PRODUCT, "reason": "Matches your search"}],
        "facets": {
            "category": [{"id": 7, "name": "Lipstick", "count": 1}],
            "brand": [{"id": 3, "name": "Glowco", "count": 1}],
        },
    },
    response_only=True,
)
SEARCH_TYPO_EXAMPLE = OpenApiExample(
    "A misspelt query, corrected",
    value={
        "query": "lipstik",
        "total": 1,
        "page": 1,
        "num_pages": 1,
        "personalized": True,
        "did_you_mean": "lipstick",
        "corrected_query": "lipstick",
        "search_event_id": 1002,
        "results": [{**SCORED_PRODUCT, "reason": "Matches your search"}],
        "facets": {"category": [], "brand": []},
    },
    response_only=True,
)
AUTOCOMPLETE_EXAMPLE = OpenApiExample(
    "Completions",
    value={
        "query": "lip",
        "suggestions": [
            {"kind": "category", "id": 7, "label": "Lipstick"},
            {"kind": "product", "id": 42, "label": "Red velvet lipstick"},
        ],
    },
    response_only=True,
)

ME_EXAMPLE = OpenApiExample(
    "The shopper",
    value={
        "id": 5,
        "username": "ada",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_joined": "2024-05-01T13:45:00Z",
        "personalization_enabled": True,
    },
    response_only=True,
)
ME_PATCH_EXAMPLE = OpenApiExample(
    "A new email address", value={"email": "ada@example.org"}, request_only=True
)
PERSONALIZATION_OFF_EXAMPLE = OpenApiExample("Opt out", value={"enabled": False}, request_only=True)
PERSONALIZATION_STATE_EXAMPLE = OpenApiExample(
    "Opted out", value={"enabled": False}, response_only=True
)
MY_EVENTS_EXAMPLE = OpenApiExample(
    "A page of events",
    value={
        "id": 9001,
        "event_id": "e1",
        "type": "view",
        "product_id": 42,
        "sku": "RED-1",
        "value": None,
        "query": "",
        "position": None,
        "context": {},
        "source": "app",
        "occurred_at": "2024-05-01T13:45:00Z",
    },
    response_only=True,
)
EXPORT_EXAMPLE = OpenApiExample(
    "An export",
    value={
        "format": 1,
        "account": {
            "id": 5,
            "username": "ada",
            "email": "ada@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "date_joined": "2024-05-01T13:45:00Z",
            "last_login": "2024-06-01T08:00:00Z",
            "is_active": True,
        },
        "profile": {"personalization_opt_out": False},
        "events": [
            {
                "id": 9001,
                "client_event_id": "u5:e1",
                "type": "view",
                "product_id": 42,
                "sku": "RED-1",
                "session_id": "",
                "value": None,
                "query": "",
                "position": None,
                "context": {},
                "source": "app",
                "occurred_at": "2024-05-01T13:45:00Z",
                "received_at": "2024-05-01T13:45:01Z",
            }
        ],
        "recommendations": [{"model_version_id": 3, "items": [[42, 0.83, 17]]}],
    },
    response_only=True,
)
DELETE_REQUEST_EXAMPLE = OpenApiExample(
    "Confirm with the password", value={"password": "correct horse"}, request_only=True
)
DELETED_EXAMPLE = OpenApiExample(
    "What was removed",
    value={"deleted": {"recommendations": 1, "events": 230, "profile": 1, "account": 1}},
    response_only=True,
)
