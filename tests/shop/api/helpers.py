"""What the API tests share besides fixtures: the v1 URLs, an event-batch poster,
valid event rows and a personalizer with a fixed answer."""

import json
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from shop.personalization import DefaultPersonalizer, ScoredItem

PRODUCTS_URL = reverse("v1:product-list")
SEARCH_URL = reverse("v1:search")
RECOMMENDATIONS_URL = reverse("v1:recommendations")
EVENTS_URL = reverse("v1:events")
MY_EVENTS_URL = reverse("v1:my-events")
ME_URL = reverse("v1:me")
ME_PERSONALIZATION_URL = reverse("v1:me-personalization")
ME_RECENTLY_VIEWED_URL = reverse("v1:me-recently-viewed")
ME_EXPORT_URL = reverse("v1:me-export")
ME_DELETE_URL = reverse("v1:me-delete")
AUTOCOMPLETE_URL = reverse("v1:search-autocomplete")


def categories_url():
    # Resolved when called: shop.api.urls includes shop.api.catalogue.urlpatterns.
    return reverse("v1:category-list")


def detail_url(pk):
    return reverse("v1:product-detail", args=[pk])


def similar_url(pk):
    return reverse("v1:product-similar", args=[pk])


def post_events(client, events, **extra):
    return client.post(
        EVENTS_URL, data=json.dumps({"events": events}), content_type="application/json", **extra
    )


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def valid_rows(now=None):
    now = now or timezone.now()
    return [
        {"event_id": "e1", "type": "view", "sku": "RED-1", "occurred_at": iso(now)},
        {
            "event_id": "e2",
            "type": "purchase",
            "sku": "RED-1",
            "value": 2,
            "occurred_at": int(now.timestamp()),
        },
        {
            "event_id": "e3",
            "type": "search",
            "query": "口红 💄",
            "occurred_at": iso(now - timedelta(minutes=1)),
            "context": {"results": 2},
        },
        {
            "event_id": "e4",
            "type": "rating",
            "sku": "MATTE-1",
            "value": 4,
            "position": 3,
            "occurred_at": iso(now),
        },
    ]


class FakePersonalizer(DefaultPersonalizer):
    """Answers with a fixed list (including an inactive product) and records the shopper."""

    calls: list = []
    answer: list[int] = []

    def recommend(self, *, shopper, limit, exclude=()):
        FakePersonalizer.calls.append(("recommend", shopper, limit))
        return [
            ScoredItem(product_id=pid, score=1.0 / (n + 1), reason=f"because {n}")
            for n, pid in enumerate(FakePersonalizer.answer)
        ][:limit]

    def similar(self, *, product_id, shopper, limit):
        FakePersonalizer.calls.append(("similar", shopper, limit))
        return [
            ScoredItem(product_id=pid, score=float("nan") if n == 0 else 0.5, reason="alike")
            for n, pid in enumerate([product_id, *FakePersonalizer.answer])
        ][:limit]
