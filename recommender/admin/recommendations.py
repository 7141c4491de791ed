"""Staff inspect a shopper's cached top-K."""

from __future__ import annotations

from django.contrib import admin
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

    @admin.display(description="top-K (product, score, reason)")
    def items_table(self, obj):
        ids = {row[0] for row in obj.items} | {row[2] for row in obj.items if row[2]}
        titles = dict(Product.objects.filter(pk__in=ids).values_list("pk", "title"))
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                "<li>{} <small>({:.4f}; because of: {})</small></li>",
                ((titles.get(p, p), s, titles.get(r, "-")) for p, s, r in obj.items),
            ),
        )
