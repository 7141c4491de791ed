"""Storefront pages: home, search, product, the personalization switch. Thin: parse,
call a service, render.

A list or an order is labelled "for you" ("Recommended for you", "ordered for you") only
when it was personalized for this shopper, with the reasons why (``ForYou``): never after
an opt-out, nor when the personalizer answered as it would for anyone (a new visitor, no
model, a failure that fell back to the default). Otherwise home shows the default's
answer under its own reasons: "Popular right now" (products enough distinct shoppers
chose lately, shop.popularity), then "New in the shop".

A recommendation list shown (home's "Recommended for you", a product's similar items)
is logged as an ``impression`` event; its cards link with ``list``, ``pos`` and ``imp``
(the impression's id), so that the product page logs the click against the list, as
search results link with ``q``, ``pos`` and ``sid``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.views.decorators.http import require_GET, require_http_methods

from shop.events.record import event_record
from shop.models import (
    EventType,
    Product,
    RecommendationList,
    ShopperProfile,
)
from shop.personalization import (
    DefaultPersonalizer,
    ScoredItem,
    get_personalizer,
    personalizer_fell_back,
)
from shop.search.autocomplete import Suggestion, search_box_suggestions
from shop.search.page_notes import (
    active_filters,
    empty_state,
    querystring_without,
    unpriced_count,
)
from shop.search.params import SearchInputError
from shop.search.service import SearchResult, search_and_log
from shop.selectors import (
    newest_products,
    products_in_order,
    shopper_recently_viewed_product_ids,
    trending_products,
)
from shop.shoppers import OPT_OUT_SESSION_KEY, Shopper, shopper_from_request

HOME_TRENDING = 12
HOME_RECOMMENDED = 8
SIMILAR_ITEMS = 8
SORT_LABELS = [
    ("relevance", "Best match"),
    ("popular", "Most popular"),
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
    ("newest", "Newest"),
]
# The recent views a "why" names, and those the privacy page lists.
WHY_VIEWS = 3
PRIVACY_VIEWS = 5
# The parts of a search score that say nothing about the shopper: the default
# personalizer's (text match, popularity) and the staff's search rules.
IMPERSONAL_COMPONENTS = frozenset(DefaultPersonalizer.component_labels) | {"rules"}


@dataclass(frozen=True)
class ForYou:
    """Whether a list or an order was personalized for the shopper, and why (short
    sentences for the shopper)."""

    personalized: bool = False
    why: tuple[str, ...] = ()


NOT_FOR_YOU = ForYou()


def _with_products(items):
    ids = [i.product_id for i in items]
    # A plugged-in personalizer may name inactive products; never show those.
    products = {p.pk: p for p in products_in_order(product_ids=ids) if p.is_active}
    return [(products[i.product_id], i) for i in items if i.product_id in products]


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    shopper = shopper_from_request(request)
    recommended, for_you = [], NOT_FOR_YOU
    if shopper.user_id is not None or shopper.session_id:
        items = get_personalizer().recommend(shopper=shopper, limit=HOME_RECOMMENDED)
        for_you = _recommendations_for_you(shopper, items)
        recommended = _with_products(items)
    trending, newest = [], []
    if for_you.personalized or not recommended:
        trending = products_in_order(
            product_ids=[pid for pid, _ in trending_products(limit=HOME_TRENDING)]
        )
        if not trending:
            newest = products_in_order(product_ids=newest_products(limit=HOME_TRENDING))
    shown_as = RecommendationList.RECOMMENDATIONS
    return render(
        request,
        "shop/home.html",
        {
            "trending": trending,
            "newest": newest,
            "recommended": recommended,
            # Not personalized: the default's answer in sections by reason ("Popular
            # right now", then "New in the shop" when too few products are).
            "sections": [] if for_you.personalized else _by_reason(recommended),
            "for_you": for_you,
            "impression_list": shown_as.value,
            "impression_id": _impression_record(shopper, shown_as, recommended),
        },
    )


def _by_reason(recommended: list) -> list[tuple[str, list]]:
    """(reason, [(product, item, position in the whole list)]) in first-seen order."""
    sections: dict[str, list] = {}
    for position, (product, item) in enumerate(recommended, start=1):
        sections.setdefault(item.reason, []).append((product, item, position))
    return list(sections.items())


def _recommendations_for_you(shopper: Shopper, items: list[ScoredItem]) -> ForYou:
    """Whether the personalizer's ``recommend`` answer, just given, was chosen for this
    shopper: not when they opted out, when the configured personalizer failed and the
    default answered, or when the answer is the one the default gives (the recommender
    answers a shopper it knows nothing about with it). Why: the reasons of its items
    that the default's items do not give (e.g. "Because you showed interest in ...")."""
    if not items or not shopper.personalize or personalizer_fell_back():
        return NOT_FOR_YOU
    if get_personalizer().name == DefaultPersonalizer.name:
        return NOT_FOR_YOU
    everyones = DefaultPersonalizer().recommend(shopper=shopper, limit=len(items))
    if [i.product_id for i in items] == [i.product_id for i in everyones]:
        return NOT_FOR_YOU
    impersonal = {i.reason for i in everyones}
    reasons = dict.fromkeys(i.reason for i in items if i.reason and i.reason not in impersonal)
    return ForYou(True, tuple(reasons)[:2] or ("Chosen from your activity in this shop.",))


def _search_for_you(shopper: Shopper, result: SearchResult) -> ForYou:
    """Whether this page of results is in an order personalized for the shopper: the
    personalizer re-ranked it (best match, not an experiment's lexical arm), the shopper
    has not opted out, and a shown result's score has a non-zero part about the shopper
    (one the personalizer declares beyond the default's text and popularity and the
    staff's rules). A shopper the personalizer knows nothing about, or a failure that
    fell back, gets the default's order, whose scores have no such part."""
    if not (result.personalized and shopper.personalize):
        return NOT_FOR_YOU
    personal = [n for n in get_personalizer().component_labels if n not in IMPERSONAL_COMPONENTS]
    if not any(hit.components.get(name) for hit in result.hits for name in personal):
        return NOT_FOR_YOU
    viewed = products_in_order(
        product_ids=shopper_recently_viewed_product_ids(shopper=shopper, limit=WHY_VIEWS)
    )
    if not viewed:
        return ForYou(True, ("Ordered using your activity in this shop.",))
    titles = ", ".join(f"“{Truncator(p.title).chars(60)}”" for p in viewed)
    return ForYou(True, (f"Ordered using your recent views: {titles}.",))


def _impression_record(shopper: Shopper, list_name: str, shown: list) -> int | None:
    """Log that ``shown`` (product, item) pairs were shown as ``list_name``; the event's
    id, for the cards' links (None when nothing was shown or nobody to log it for)."""
    if not shown:
        return None
    event = event_record(
        shopper=shopper,
        event_type=EventType.IMPRESSION,
        context={"list": str(list_name), "shown": [product.pk for product, _item in shown]},
    )
    return event.pk if event else None


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    try:
        logged = search_and_log(request=request)
    except SearchInputError as error:
        return render(
            request,
            "shop/search.html",
            {"error": error, "query": request.GET.get("q", "")[:200]},
            status=400,
        )
    result = logged.result
    filters = active_filters(request.GET, result.params)
    return render(
        request,
        "shop/search.html",
        {
            "result": result,
            "for_you": _search_for_you(shopper_from_request(request), result),
            "query": result.params.query,
            "params": result.params,
            "hits": _hit_links(result, logged.search_event_id),
            "sorts": SORT_LABELS,
            "querystring": querystring_without(request.GET, ("page",)),
            "active_filters": filters,
            "empty": empty_state(result, filters),
            "unpriced": unpriced_count(result),
        },
    )


def _hit_links(result: SearchResult, search_event_id: int | None) -> list:
    """(hit, link to its product page): the link names the query, the position and the
    search event, so that the click is attributed to this search."""
    offset = (result.page - 1) * result.params.page_size
    return [
        (
            hit,
            f"{hit.product.get_absolute_url()}?"
            + urlencode(
                {
                    "q": result.params.query,
                    "pos": offset + n,
                    "sid": "" if search_event_id is None else search_event_id,
                }
            ),
        )
        for n, hit in enumerate(result.hits, start=1)
    ]


@require_http_methods(["GET", "HEAD", "POST"])
def personalization_preference(request: HttpRequest) -> HttpResponse:
    """GET: the privacy page (what personalization uses, the switch; the storefront's
    account page for now). POST: opt out of (``opt_out=1``) or back into
    personalization; logged-in shoppers keep the choice in their profile, anonymous ones
    in their session."""
    if request.method != "POST":
        shopper = shopper_from_request(request)
        viewed = products_in_order(
            product_ids=shopper_recently_viewed_product_ids(shopper=shopper, limit=PRIVACY_VIEWS)
        )
        return render(
            request,
            "shop/privacy.html",
            {"personalized": shopper.personalize, "recently_viewed": viewed},
        )
    opt_out = request.POST.get("opt_out") in ("1", "true", "on", "yes")
    if request.user.is_authenticated:
        ShopperProfile.objects.update_or_create(
            user=request.user, defaults={"personalization_opt_out": opt_out}
        )
    request.session[OPT_OUT_SESSION_KEY] = opt_out
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


@require_GET
def search_autocomplete_view(request: HttpRequest) -> JsonResponse:
    """Completions for the search box: ``{"query", "suggestions": [{kind, id, label,
    url}]}``: the shopper's recent searches (``recent``), completed words (``query``),
    brands, categories and products; ``url`` is where choosing one goes."""
    prefix = request.GET.get("q", "")
    if len(prefix) > 200:
        return JsonResponse({"errors": {"q": "at most 200 characters"}}, status=400)
    suggestions = search_box_suggestions(
        prefix=prefix.replace("\x00", ""), shopper=shopper_from_request(request)
    )
    response = JsonResponse(
        {"query": prefix, "suggestions": [_suggestion_json(s) for s in suggestions]},
        json_dumps_params={"ensure_ascii": False},
    )
    # The shopper's own recent searches: for no shared cache.
    response["Cache-Control"] = "private, max-age=0"
    return response


def _suggestion_json(suggestion: Suggestion) -> dict:
    search_url = reverse("shop:search")
    if suggestion.kind == "product":
        url = reverse("shop:product", args=[suggestion.id])
    elif suggestion.kind in ("brand", "category"):
        url = f"{search_url}?{urlencode({suggestion.kind: suggestion.id})}"
    else:
        url = f"{search_url}?{urlencode({'q': suggestion.label})}"
    return {**suggestion.__dict__, "url": url}


@require_GET
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(
        Product.objects.select_related("category", "brand"), pk=pk, is_active=True
    )
    shopper = shopper_from_request(request, create_session=True)
    position = request.GET.get("pos", "")
    # ASCII digits only: str.isdigit() also accepts "²", which int() rejects.
    if _is_ascii_number(position, max_digits=6):
        if request.GET.get("list") in RecommendationList.values:
            _list_click_record(request, shopper, product.pk, int(position))
        else:
            _search_click_record(request, shopper, product.pk, int(position))
    event_record(shopper=shopper, event_type=EventType.VIEW, product_id=product.pk)
    similar = _with_products(
        get_personalizer().similar(product_id=product.pk, shopper=shopper, limit=SIMILAR_ITEMS)
    )
    shown_as = RecommendationList.SIMILAR
    return render(
        request,
        "shop/product.html",
        {
            "product": product,
            "similar": similar,
            "impression_list": shown_as.value,
            "impression_id": _impression_record(shopper, shown_as, similar),
        },
    )


def _search_click_record(request: HttpRequest, shopper: Shopper, product_id: int, position: int):
    search_event = request.GET.get("sid", "")
    event_record(
        shopper=shopper,
        event_type=EventType.CLICK,
        product_id=product_id,
        # Postgres text cannot hold NUL; the query is the shopper's free text.
        query=request.GET.get("q", "").replace("\x00", "")[:500],
        position=position,
        context={"search_event_id": int(search_event)}
        if _is_ascii_number(search_event, max_digits=18)
        else {},
    )


def _list_click_record(request: HttpRequest, shopper: Shopper, product_id: int, position: int):
    """A click on a recommendation list's card: the list, and the impression it was on."""
    context = {"list": request.GET["list"]}
    impression = request.GET.get("imp", "")
    if _is_ascii_number(impression, max_digits=18):
        context["impression"] = int(impression)
    event_record(
        shopper=shopper,
        event_type=EventType.CLICK,
        product_id=product_id,
        position=position,
        context=context,
    )


def _is_ascii_number(value: str, *, max_digits: int) -> bool:
    return 0 < len(value) <= max_digits and value.isascii() and value.isdigit()
