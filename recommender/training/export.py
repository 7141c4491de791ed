"""Turns the shop's database into the arrays recommender.ml trains on.

Everything is streamed in keyset-paginated chunks (never a whole table as Django
objects): products by id, events by (occurred_at, id), the order of the event_time
index, so memory holds the arrays and one chunk.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q

from recommender.models import TRAINING_EVENT_TYPES
from shop.models import Event, Product

CHUNK_SIZE = 50_000
PRICE_BUCKETS = 10
CATALOGUE_FIELDS = (
    "pk",
    "title",
    "category_id",
    "category__path",
    "brand_id",
    "attributes",
    "price",
    "is_active",
    "stock",
)


def session_key(session_id: str) -> str:
    """The training-data key of an anonymous session (users are keyed by their int id)."""
    return f"s:{session_id}"


@dataclass
class CatalogueArrays:
    product_ids: list[int]
    titles: dict[int, str]
    attributes: dict[int, list[str]]
    price_buckets: dict[int, int | None]
    inactive: set[int]
    out_of_stock: set[int]

    def add(self, row: dict) -> None:
        """One product's row (CATALOGUE_FIELDS)."""
        pid = row["pk"]
        self.product_ids.append(pid)
        self.titles[pid] = row["title"]
        self.attributes[pid] = product_side_features(row)
        self.price_buckets[pid] = price_bucket(row["price"])
        if not row["is_active"]:
            self.inactive.add(pid)
        if row["stock"] <= 0:
            self.out_of_stock.add(pid)


@dataclass
class EventArrays:
    actor_keys: list  # user id (int) or session_key(...) (str)
    product_ids: list[int]
    timestamps: list[float]
    event_types: list[str]
    cutoff: datetime | None

    def __len__(self) -> int:
        return len(self.product_ids)


def product_side_features(row: dict) -> list[str]:
    """Attribute tokens of a product: category (with its ancestors' path), brand, and the
    dataset's own attribute ids when it has some."""
    features: list[str] = []
    if row["category_id"]:
        features.append(f"c:{row['category_id']}")
        path = row.get("category__path") or ""
        if " > " in path:
            features.append(f"cp:{path.split(' > ')[0]}")
    if row["brand_id"]:
        features.append(f"b:{row['brand_id']}")
    extra = (row.get("attributes") or {}).get("attribute_ids")
    if isinstance(extra, list):
        features.extend(f"a:{a}" for a in extra[:8])
    return features


def price_bucket(price: Decimal | None) -> int | None:
    """Log-spaced price bucket 1..PRICE_BUCKETS (0.5 to 5,000 in the shop's currency)."""
    if price is None or price <= 0:
        return None
    value = math.log10(float(price))
    low, high = math.log10(0.5), math.log10(5000)
    return 1 + max(0, min(PRICE_BUCKETS - 1, int((value - low) / (high - low) * PRICE_BUCKETS)))


def catalogue_export(*, chunk_size: int = CHUNK_SIZE) -> CatalogueArrays:
    out = CatalogueArrays([], {}, {}, {}, set(), set())
    last = 0
    while True:
        rows = list(
            Product.objects.filter(pk__gt=last)
            .order_by("pk")
            .values(*CATALOGUE_FIELDS)[:chunk_size]
        )
        if not rows:
            return out
        for row in rows:
            out.add(row)
        last = rows[-1]["pk"]


def iter_event_chunks(
    *, chunk_size: int = CHUNK_SIZE, until: datetime | None = None
) -> Iterator[list[tuple]]:
    """(user_id, session_id, product_id, event_type, occurred_at, id) chunks in time order."""
    base = Event.objects.filter(product__isnull=False, event_type__in=TRAINING_EVENT_TYPES)
    if until is not None:
        base = base.filter(occurred_at__lte=until)
    cursor: tuple[datetime, int] | None = None
    while True:
        qs = base
        if cursor is not None:
            qs = qs.filter(
                Q(occurred_at__gt=cursor[0]) | Q(occurred_at=cursor[0], pk__gt=cursor[1])
            )
        rows = list(
            qs.order_by("occurred_at", "pk").values_list(
                "user_id", "session_id", "product_id", "event_type", "occurred_at", "pk"
            )[:chunk_size]
        )
        if not rows:
            return
        yield rows
        cursor = (rows[-1][4], rows[-1][5])


def events_export(
    *,
    chunk_size: int = CHUNK_SIZE,
    include_sessions: bool = True,
    until: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> EventArrays:
    out = EventArrays([], [], [], [], None)
    for rows in iter_event_chunks(chunk_size=chunk_size, until=until):
        for user_id, session_id, product_id, event_type, occurred_at, _ in rows:
            if user_id is not None:
                key = user_id
            elif include_sessions and session_id:
                key = session_key(session_id)
            else:
                continue
            out.actor_keys.append(key)
            out.product_ids.append(product_id)
            out.timestamps.append(occurred_at.timestamp())
            out.event_types.append(event_type)
        out.cutoff = rows[-1][4]
        if progress:
            progress(len(out))
    return out
