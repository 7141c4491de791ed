"""The shop's data: catalogue (Category tree, Brand, Product) and the behaviour log (Event).

Shoppers are Django users. Events are append-only; a client event id, unique per source,
makes every ingestion path idempotent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from shop.text import normalize_query


class Category(models.Model):
    """A node of the category tree; ``path`` is the materialized path of names."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=255, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, related_name="children", on_delete=models.PROTECT
    )
    path = models.CharField(max_length=1000, editable=False, db_index=True, default="")
    depth = models.PositiveSmallIntegerField(editable=False, default=0)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="category_unique_name_per_parent"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="category_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.path or self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            base = (
                slugify(f"{self.parent.path if self.parent else ''} {self.name}")[:240]
                or "category"
            )
            self.slug = base
        self.path = f"{self.parent.path} > {self.name}" if self.parent else self.name
        self.depth = self.parent.depth + 1 if self.parent else 0
        super().save(*args, **kwargs)

    def descendant_ids(self) -> list[int]:
        """This category and every category below it (one query on the path index)."""
        return list(
            Category.objects.filter(
                Q(pk=self.pk) | Q(path__startswith=f"{self.path} > ")
            ).values_list("pk", flat=True)
        )


class Brand(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=255, unique=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="brand_name_not_empty")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:240] or f"brand-{abs(hash(self.name))}"
        super().save(*args, **kwargs)


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, related_name="products", on_delete=models.SET_NULL
    )
    brand = models.ForeignKey(
        Brand, null=True, blank=True, related_name="products", on_delete=models.SET_NULL
    )
    # Price and currency are empty together when the price is unknown.
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    stock = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField("active", default=True, db_index=True)
    attributes = models.JSONField(default=dict, blank=True)
    image_url = models.URLField(max_length=1000, blank=True)
    # Distinct shoppers, each weighted by their strongest interaction and decayed with
    # age; orders ties and "popular". ``trending`` is the same over the last two weeks,
    # 0 below a minimum of distinct shoppers ("Popular right now"). Both are recomputed
    # from the event log by shop.popularity.
    popularity = models.FloatField(default=0, db_index=True, editable=False)
    trending = models.FloatField(default=0, db_index=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0), name="product_price_not_negative"
            ),
            models.CheckConstraint(condition=~Q(sku=""), name="product_sku_not_empty"),
            models.CheckConstraint(
                condition=Q(price__isnull=True, currency="") | Q(price__isnull=False),
                name="product_currency_only_with_price",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="product_created_idx")]

    def __str__(self) -> str:
        return f"{self.title} ({self.sku})"

    def get_absolute_url(self) -> str:
        return reverse("shop:product", args=[self.pk])

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


class EventType(models.TextChoices):
    VIEW = "view", "view"
    CLICK = "click", "click"
    ADD_TO_CART = "add_to_cart", "add to cart"
    REMOVE_FROM_CART = "remove_from_cart", "remove from cart"
    PURCHASE = "purchase", "purchase"
    SEARCH = "search", "search"
    RATING = "rating", "rating"
    AD_IMPRESSION = "ad_impression", "ad impression"
    AD_CLICK = "ad_click", "ad click"
    # A recommendation list shown (context {"list": RecommendationList, "shown": [ids]}):
    # the denominator of its click-through, never a sign of interest in a product.
    IMPRESSION = "impression", "recommendation impression"


# Event types that need no product (a search names a query, an impression its list).
PRODUCTLESS_EVENT_TYPES = (EventType.SEARCH, EventType.IMPRESSION)


class RecommendationList(models.TextChoices):
    """The storefront's recommendation lists. An ``impression`` event names the list it
    showed; a click on one of its cards is a ``click`` event with context
    {"list": ..., "impression": <impression event id>} and the card's position."""

    RECOMMENDATIONS = "recommendations", "Recommended for you"
    SIMILAR = "similar", "Similar items"


class Event(models.Model):
    """One shopper action. Append-only; (source, client_event_id) is the idempotency key.

    Indexes, and the plans Postgres 15 picks with them (EXPLAIN ANALYZE on the 500,000
    events of bench/ingest.py):
    - ``event_user_time_idx`` (user, occurred_at) WHERE user IS NOT NULL - a shopper's
      history: ``Bitmap Index Scan on event_user_time_idx (Index Cond: (user_id = 4242))``.
    - ``event_session_time_idx`` (session_id, occurred_at) WHERE session_id <> '' - an
      anonymous session's history: ``Index Scan Backward using event_session_time_idx``.
      Both are partial: imports of one kind skip the other's entries.
    - ``event_time_idx`` (occurred_at, id) - the time-ordered export, keyset-paginated
      (``WHERE (occurred_at, id) > (...) ORDER BY occurred_at, id LIMIT 10000``):
      ``Index Scan using event_time_idx``; also the trending window.
    - ``event_product_type_idx`` (product, event_type) - popularity and co-occurrence.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="events",
        on_delete=models.CASCADE,
        db_index=False,  # covered by event_user_time_idx
    )
    session_id = models.CharField(max_length=64, blank=True)
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        related_name="events",
        on_delete=models.CASCADE,
        db_index=False,  # covered by event_product_type_idx
    )
    event_type = models.CharField(max_length=20, choices=EventType.choices)
    value = models.FloatField(null=True, blank=True, help_text="Rating (1-5) or quantity.")
    query = models.CharField(max_length=500, blank=True)
    position = models.PositiveIntegerField(
        null=True, blank=True, help_text="Rank in the list shown."
    )
    context = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=32, default="web")
    client_event_id = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "client_event_id"], name="event_unique_client_id"
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(session_id=""), name="event_has_actor"
            ),
            models.CheckConstraint(
                condition=Q(product__isnull=False)
                | Q(event_type__in=[t.value for t in PRODUCTLESS_EVENT_TYPES]),
                name="event_product_required",
            ),
            models.CheckConstraint(
                condition=Q(event_type__in=[t.value for t in EventType]), name="event_type_valid"
            ),
            models.CheckConstraint(
                condition=~Q(event_type="rating") | Q(value__gte=1, value__lte=5),
                name="event_rating_in_range",
            ),
        ]
        indexes = [
            # Partial: anonymous events are a minority, and imports skip the entries.
            models.Index(
                fields=["user", "occurred_at"],
                name="event_user_time_idx",
                condition=Q(user__isnull=False),
            ),
            models.Index(
                fields=["session_id", "occurred_at"],
                name="event_session_time_idx",
                condition=~Q(session_id=""),
            ),
            models.Index(fields=["occurred_at", "id"], name="event_time_idx"),
            models.Index(fields=["product", "event_type"], name="event_product_type_idx"),
        ]

    def __str__(self) -> str:
        actor = f"user {self.user_id}" if self.user_id else f"session {self.session_id[:8]}"
        return f"{self.event_type} by {actor} at {self.occurred_at:%Y-%m-%d %H:%M}"


class SearchRuleAction(models.TextChoices):
    PIN = "pin", "pin to the top"
    BOOST = "boost", "boost"
    BAN = "ban", "ban from results"


class SearchRule(models.Model):
    """A staff rule for one query: pin a product to the top, boost it, or ban it.

    ``query`` is stored normalized (see ``shop.text.normalize_query``): lower-case words
    joined by single spaces, so "Sanding  Rolls" and "sanding rolls" share their rules.
    Pins and boosts only reorder products that the query and filters already match; a ban
    removes the product from the results, the total and the facets.
    """

    query = models.CharField(max_length=500, db_index=True)
    product = models.ForeignKey(Product, related_name="search_rules", on_delete=models.CASCADE)
    action = models.CharField(max_length=8, choices=SearchRuleAction.choices)
    weight = models.FloatField(
        default=1.0,
        help_text="Boost: added to the relevance score (about 0-2). Pin: higher pins first.",
    )
    is_active = models.BooleanField("active", default=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["query", "action", "-weight"]
        constraints = [
            models.UniqueConstraint(fields=["query", "product"], name="searchrule_unique_product"),
            models.CheckConstraint(condition=~Q(query=""), name="searchrule_query_not_empty"),
            models.CheckConstraint(
                condition=Q(action__in=[a.value for a in SearchRuleAction]),
                name="searchrule_action_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.product_id} for “{self.query}”"

    def save(self, *args, **kwargs):
        self.query = normalize_query(self.query)
        super().save(*args, **kwargs)


class ShopperProfile(models.Model):
    """Per-shopper preferences the shop honours; today only the personalization opt-out."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, related_name="shopper_profile", on_delete=models.CASCADE
    )
    personalization_opt_out = models.BooleanField(
        default=False,
        help_text="When set, search and recommendations use the non-personalized order.",
    )

    def __str__(self) -> str:
        return f"profile of user {self.user_id}"


# Staff dashboards' rollups and A/B experiments live in their own modules (imported
# here so that Django registers them with the shop app).
from shop.models.experiments import *  # noqa: E402,F403
from shop.models.orders import *  # noqa: E402,F403
from shop.models.rollups import *  # noqa: E402,F403
from shop.models.searching import *  # noqa: E402,F403
