"""The event log and shoppers' profiles in the admin."""

from __future__ import annotations

from django.contrib import admin

from shop.admin.catalogue import EstimatedCountPaginator
from shop.models import Event, ShopperProfile


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


@admin.register(ShopperProfile)
class ShopperProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "personalization_opt_out")
    list_filter = ("personalization_opt_out",)
    search_fields = ("=user__username",)
    raw_id_fields = ("user",)
