"""The shopper inspector: pick a shopper (username, user id, email or anonymous session
id, or one of the recently active), then see on one page who they are, their latest
events, the recommendations the shop serves them with each one's reason, and "search as
this shopper" (the explain mode, shop.search.explain).

Everything is read as the shop serves the shopper: their opt-out is honoured (the page
says when personalization is off for them), the recommendations come through the
personalizer interface (``shop.recommendations``), and what the personalizer knows of
them (segment, model, cached lists) through its optional ``describe``. Queries: see
shop.dashboards.inspector_data. Later work adds panels (shop.dashboards.inspector_panels).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse

from shop.dashboards.inspector_data import (
    SESSION_ID_LENGTH,
    ShopperRef,
    recently_active_shoppers,
    shopper_facts,
    shopper_history,
    shoppers_find,
)
from shop.dashboards.inspector_panels import inspector_panels_render
from shop.dashboards.nav import DashboardPage, dashboard_register
from shop.dashboards.pages import dashboard_render, staff_page
from shop.experiments.serving import exposures_paused, search_shopper_as_served
from shop.personalization import get_personalizer, personalizer_fell_back
from shop.recommendations import recommendations_for_shopper
from shop.search.explain import search_explain
from shop.selectors import products_in_order
from shop.shoppers import Shopper

TEMPLATE = "admin/dashboards/inspector.html"
TOP_K = 10
MAX_K = 50

dashboard_register(
    DashboardPage(
        "Shopper inspector",
        "inspector",
        "shop.view_event",
        40,
        "One shopper: history, recommendations with reasons, search as them.",
    )
)


@staff_page("shop.view_event")
def inspector(request: HttpRequest) -> HttpResponse:
    """Without a shopper: the search box and the recently active shoppers; ``find``
    looks one up; ``user`` and/or ``session`` show that shopper."""
    user_id = _user_id(request.GET.get("user", ""))
    session_id = request.GET.get("session", "").strip()[:SESSION_ID_LENGTH]
    if user_id is not None or session_id:
        return _shopper_page(request, user_id=user_id, session_id=session_id)
    find = request.GET.get("find", "").strip()[:254]
    context = {"find": find, "recent": recently_active_shoppers()}
    status = 200
    if "user" in request.GET and request.GET["user"].strip():
        context["not_found"] = f"“{request.GET['user']}” is not a user id."
        status = 404
    elif find:
        found = shoppers_find(text=find, by_email=request.user.has_perm("auth.view_user"))
        if len(found) == 1:
            return _shopper_page(
                request, user_id=found[0].user_id, session_id=found[0].session_id, find=find
            )
        if found:
            context["found"] = found
        else:
            context["not_found"] = (
                f"No shopper is “{find}”: no user has that id, username or email, and no "
                "event or session has that session id."
            )
            status = 404
    return dashboard_render(request, TEMPLATE, context, title="Shopper inspector", status=status)


def _user_id(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 19 else None


def _shopper_page(
    request: HttpRequest, *, user_id: int | None, session_id: str, find: str = ""
) -> HttpResponse:
    plain = Shopper(user_id=user_id, session_id=session_id)
    history, more = shopper_history(shopper=plain)
    facts = shopper_facts(
        user_id=user_id, session_id=session_id, latest=history[0] if history else None
    )
    if facts is None:
        context = {
            "find": find,
            "recent": recently_active_shoppers(),
            "not_found": f"There is no user with id {user_id}.",
        }
        return dashboard_render(request, TEMPLATE, context, title="Shopper inspector", status=404)
    shopper = facts.shopper
    ref = ShopperRef(user_id, session_id)
    query = request.GET.get("q", "")
    context = {
        "find": find,
        "facts": facts,
        "shopper": shopper,
        "ref": ref,
        "described": get_personalizer().describe(shopper=shopper),
        "personalizer_name": get_personalizer().name,
        "history": history,
        "history_more": more,
        "events_url": _events_url(shopper),
        "k": _k(request.GET.get("k", "")),
        "query": query,
        "panels": inspector_panels_render(request=request, shopper=shopper),
    }
    # Staff looking at what a shopper gets are not the shopper: no experiment exposure.
    with exposures_paused():
        context["explained"] = (
            # The order the shopper's experiment arm serves them.
            search_explain(query=query, shopper=search_shopper_as_served(shopper))
            if query.strip()
            else None
        )
        context["recommendations"], context["fell_back"] = _recommendations(shopper, context["k"])
    title = f"Shopper inspector: {facts.user.get_username() if facts.user else 'anonymous'}"
    return dashboard_render(request, TEMPLATE, context, title=title)


def _k(value: str) -> int:
    """The number of recommendations asked for (``k``), 1 to MAX_K."""
    return max(1, min(int(value[:4]), MAX_K)) if value.isdigit() else TOP_K


def _recommendations(shopper: Shopper, k: int) -> tuple[list[tuple], bool]:
    """(position, product, item, score as shown) of what the shop recommends the
    shopper, and whether the configured personalizer failed and the default answered.
    Scores show 4 significant digits: a model's can be tiny, popularity figures large."""
    items = recommendations_for_shopper(shopper=shopper, limit=k)
    fell_back = personalizer_fell_back()
    products = {p.pk: p for p in products_in_order(product_ids=[i.product_id for i in items])}
    rows = [
        (n, products[i.product_id], i, f"{i.score:.4g}")
        for n, i in enumerate(items, start=1)
        if i.product_id in products
    ]
    return rows, fell_back


def _events_url(shopper: Shopper) -> str:
    """The event log filtered to this shopper's events."""
    changelist = reverse("admin:shop_event_changelist")
    if shopper.user_id is not None:
        return f"{changelist}?user__id__exact={shopper.user_id}"
    return f"{changelist}?{urlencode({'session_id': shopper.session_id})}"


urlpatterns = [path("shoppers/", inspector, name="inspector")]
