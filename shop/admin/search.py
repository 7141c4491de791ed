"""Search rules, and the explain view of a query's ranking."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from shop.models import SearchRule, ShopperProfile
from shop.search.params import SearchInputError, SearchParams
from shop.search.service import search_products
from shop.shoppers import Shopper

EXPLAIN_RESULTS = 50


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
