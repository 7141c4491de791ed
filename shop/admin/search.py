"""Search rules, and the explain view of a query's ranking."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from shop.experiments.serving import exposures_paused, search_shopper_as_served
from shop.models import Event, SearchRule, Synonym
from shop.search.explain import search_explain
from shop.shoppers import shopper_for

SESSION_ID_LENGTH = Event._meta.get_field("session_id").max_length


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
        """The ordered results of a query for a chosen shopper (a username and/or an
        anonymous session id), each score component labelled (shop.search.explain)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "title": "Explain a search"}
        query = request.GET.get("q", "")
        username = request.GET.get("user", "").strip()
        session_id = request.GET.get("session", "").strip()[:SESSION_ID_LENGTH]
        context.update(query=query, username=username, session_id=session_id)
        if "q" in request.GET:
            context.update(_explained(query, username=username, session_id=session_id))
        return TemplateResponse(request, "admin/shop/search_explain.html", context)


def _explained(query: str, *, username: str, session_id: str) -> dict:
    """The explain page's results for the query as that user and/or session gets them
    (their opt-out included), or an error to show."""
    user_id = None
    if username:
        user_id = (
            get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()
        )
        if user_id is None:
            return {"error": f"No user named {username!r}."}
    shopper = (
        shopper_for(user_id=user_id, session_id=session_id) if username or session_id else None
    )
    if shopper is not None:  # the order an experiment's arm serves them
        shopper = search_shopper_as_served(shopper)
    with exposures_paused():
        explained = search_explain(query=query, shopper=shopper)
    return {"explained": explained, "shopper": shopper}


# ------------------------------------------------------------------------------ synonyms


@admin.register(Synonym)
class SynonymAdmin(admin.ModelAdmin):
    """Staff synonyms: searching a term also finds (or finds instead) what its
    alternatives find. The add form takes its fields from GET (the search dashboard
    links to it prefilled); saving applies to searches at once."""

    list_display = ("term", "kind", "alternatives", "is_active", "note", "created_at", "explain")
    list_filter = ("kind", "is_active")
    list_editable = ("is_active",)
    search_fields = ("term", "alternatives", "note")
    fields = ("term", "kind", "alternatives", "is_active", "note")
    list_per_page = 100

    @admin.display(description="try it")
    def explain(self, synonym: Synonym) -> str:
        url = reverse("admin:shop_searchrule_explain")
        query = urlencode({"q": synonym.term})
        return format_html('<a href="{}?{}">explain “{}”</a>', url, query, synonym.term)
