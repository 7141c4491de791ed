"""The event log and shoppers' profiles in the admin."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from shop.admin.catalogue import EstimatedCountPaginator
from shop.models import Event, ShopperProfile

# The characters of a session id the event list shows (the whole id is its title).
SESSION_SHOWN = 12


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
        """The session id's start, the whole id in its title, linked to the shopper
        inspector for that session (and user): staff copy it from there, whole."""
        if not obj.session_id:
            return "-"
        query = {"session": obj.session_id}
        if obj.user_id is not None:
            query["user"] = obj.user_id
        short = (
            obj.session_id
            if len(obj.session_id) <= SESSION_SHOWN
            else obj.session_id[:SESSION_SHOWN] + "…"
        )
        return format_html(
            '<a href="{}?{}" title="{}">{}</a>',
            reverse("dashboards:inspector"),
            urlencode(query),
            obj.session_id,
            short,
        )


@admin.register(ShopperProfile)
class ShopperProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "personalization_opt_out")
    list_filter = ("personalization_opt_out",)
    search_fields = ("=user__username",)
    raw_id_fields = ("user",)
