"""Admin for the catalogue and the event log, fit for tables of millions of rows:
no COUNT(*) over unfiltered event tables, raw-id/autocomplete widgets for foreign
keys, select_related on every list page (tests assert the query counts)."""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.utils.functional import cached_property

from shop.models import Brand, Category, Product
from shop.search.cache import search_cache_invalidate


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
        "trending",
    )
    list_display_links = ("sku", "title")
    list_select_related = ("category", "brand")
    list_filter = ("is_active",)
    list_editable = ("stock", "is_active")
    search_fields = ("=sku", "title")
    autocomplete_fields = ("category", "brand")
    readonly_fields = ("popularity", "trending", "created_at", "updated_at")
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
