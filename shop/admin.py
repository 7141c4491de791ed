"""Admin for the catalogue and the event log, fit for tables of millions of rows:
no COUNT(*) over unfiltered event tables, raw-id/autocomplete widgets for foreign
keys, select_related on every list page (tests assert the query counts)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.functional import cached_property

from shop.models import Brand, Category, Event, Product, SearchRule, ShopperProfile
from shop.search.cache import search_cache_invalidate
from shop.search.params import SearchInputError, SearchParams
from shop.search.service import search_products
from shop.shoppers import Shopper

EXPLAIN_RESULTS = 50


class EstimatedCountPaginator(Paginator):
    """On Postgres, an unfiltered list uses the planner's row estimate instead of a
    COUNT(*) that would scan millions of rows."""

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] and row[0] > 100_000:
                return int(row[0])
        return super().count


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("path", "slug", "depth")
    search_fields = ("name", "path")
    autocomplete_fields = ("parent",)
    readonly_fields = ("path", "depth")
    list_per_page = 100


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    list_per_page = 100


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "sku",
        "title",
        "category",
        "brand",
        "price",
        "currency",
        "stock",
        "is_active",
        "popularity",
    )
    list_display_links = ("sku", "title")
    list_select_related = ("category", "brand")
    list_filter = ("is_active",)
    list_editable = ("stock", "is_active")
    search_fields = ("=sku", "title")
    autocomplete_fields = ("category", "brand")
    readonly_fields = ("popularity", "created_at", "updated_at")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    actions = ("activate", "deactivate")
    list_per_page = 50

    @admin.action(description="Activate selected products", permissions=["change"])
    def activate(self, request, queryset):
        changed = queryset.update(is_active=True)
        transaction.on_commit(search_cache_invalidate)  # an update sends no post_save
        self.message_user(request, f"{changed} product(s) activated.")

    @admin.action(description="Deactivate selected products", permissions=["change"])
    def deactivate(self, request, queryset):
        changed = queryset.update(is_active=False)
        transaction.on_commit(search_cache_invalidate)
        self.message_user(request, f"{changed} product(s) deactivated.")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "occurred_at",
        "event_type",
        "user",
        "session_short",
        "product",
        "query",
        "value",
        "source",
    )
    list_select_related = ("user", "product")
    list_filter = ("event_type", "source")
    search_fields = ("=client_event_id", "=session_id", "=user__username", "^query")
    raw_id_fields = ("user", "product")
    readonly_fields = ("received_at",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ("-occurred_at", "-id")
    list_per_page = 100

    @admin.display(description="session")
    def session_short(self, obj: Event) -> str:
        return obj.session_id[:8]


@admin.register(SearchRule)
class SearchRuleAdmin(admin.ModelAdmin):
    """Staff pins, boosts and bans per query; ``explain/`` shows a query's ranking."""

    list_display = ("query", "action", "product", "weight", "is_active", "note")
    list_select_related = ("product",)
    list_filter = ("action", "is_active")
    list_editable = ("weight", "is_active")
    search_fields = ("^query", "product__title", "=product__sku")
    raw_id_fields = ("product",)
    list_per_page = 100

    def get_urls(self):
        explain = path(
            "explain/",
            self.admin_site.admin_view(self.explain_view),
            name="shop_searchrule_explain",
        )
        return [explain, *super().get_urls()]

    def explain_view(self, request):
        """The ordered results of a query for a chosen shopper, with each score part."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "title": "Explain a search"}
        query = request.GET.get("q", "")
        username = request.GET.get("user", "").strip()
        session_id = request.GET.get("session", "").strip()[:64]
        context.update(query=query, username=username, session_id=session_id)
        if "q" in request.GET:
            context.update(_explained(query, username=username, session_id=session_id))
        return TemplateResponse(request, "admin/shop/search_explain.html", context)


def _explained(query: str, *, username: str, session_id: str) -> dict:
    """The explain page's results for the query as that user (or session) gets them, or
    an error to show."""
    user = None
    if username:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            return {"error": f"No user named {username!r}."}
    opted_out = bool(
        user and ShopperProfile.objects.filter(user=user, personalization_opt_out=True).exists()
    )
    shopper = Shopper(
        user_id=user.pk if user else None, session_id=session_id, personalize=not opted_out
    )
    try:
        params = SearchParams.from_mapping({"q": query, "page_size": str(EXPLAIN_RESULTS)})
        result = search_products(params=params, shopper=shopper)
    except SearchInputError as error:
        return {"error": f"{error.field}: {error.reason}"}
    names = _component_names(result.hits)
    return {
        "result": result,
        "opted_out": opted_out,
        "component_names": names,
        "rows": [
            (n, hit, [hit.components.get(c) for c in names])
            for n, hit in enumerate(result.hits, start=1)
        ],
    }


def _component_names(hits) -> list[str]:
    """The explain table's score columns: the usual ones, then any a plug-in adds."""
    names = ["text", "affinity", "popularity", "rules"]
    for hit in hits:
        names.extend(name for name in hit.components if name not in names)
    return names


@admin.register(ShopperProfile)
class ShopperProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "personalization_opt_out")
    list_filter = ("personalization_opt_out",)
    search_fields = ("=user__username",)
    raw_id_fields = ("user",)
