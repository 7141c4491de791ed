"""Staff inspect a shopper's cached top-K."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from recommender.models import UserRecommendation
from shop.models import Product


@admin.register(UserRecommendation)
class UserRecommendationAdmin(admin.ModelAdmin):
    list_display = ("user", "model_version", "size", "computed_at")
    list_select_related = ("user", "model_version")
    raw_id_fields = ("user",)
    search_fields = ("=user__username", "=user__id")
    readonly_fields = ("user", "model_version", "computed_at", "items_table")
    exclude = ("items",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.display(description="items")
    def size(self, obj):
        return len(obj.items)

    @admin.display(description="top-K (product, score, because of)")
    def items_table(self, obj):
        """The cached list, best first: each product with its score and the product of
        the shopper's history that led to it. (format_html escapes its arguments into
        strings, so the score is formatted before it is passed.)"""
        ids = {row[0] for row in obj.items} | {row[2] for row in obj.items if row[2]}
        titles = dict(Product.objects.filter(pk__in=ids).values_list("pk", "title"))
        inspect = reverse("dashboards:inspector") + f"?user={obj.user_id}"
        rows = format_html_join(
            "",
            "<li>{} <small>({}; because of: {})</small></li>",
            (
                (
                    _product_link(product_id, titles),
                    f"{score:.4f}",
                    _product_link(reason, titles) if reason else "-",
                )
                for product_id, score, reason in obj.items
            ),
        )
        return format_html(
            '<ol class="top-k">{}</ol><p><a href="{}">Inspect this shopper</a></p>',
            rows,
            inspect,
        )


def _product_link(product_id: int, titles: dict[int, str]) -> str:
    """The product's title linked to its admin page (its id when it is gone)."""
    if product_id not in titles:
        return format_html("product {} (gone)", product_id)
    url = reverse("admin:shop_product_change", args=[product_id])
    return format_html('<a href="{}">{}</a>', url, titles[product_id])
