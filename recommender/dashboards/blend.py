"""The learned search blend, visible and editable: the weights in use (each term and
what it measures), when and from how many searches they were learned, their metrics,
the history of blends, a form that saves staff weights as a new blend, and "learn from
clicks now".

Seeing needs recommender.view_searchblend; editing and learning need
recommender.change_searchblend.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from recommender import search_blend as blends
from recommender.models import SearchBlend
from recommender.tasks import learn_search_blend
from shop.dashboards.charts import Chart, Series
from shop.dashboards.nav import DashboardPage, dashboard_register
from shop.dashboards.pages import dashboard_render, staff_page

VIEW = "recommender.view_searchblend"
CHANGE = "recommender.change_searchblend"
HISTORY = 30
FIELD_PREFIX = "w_"

dashboard_register(
    DashboardPage(
        label="Search blend",
        url_name="search-blend",
        permission=VIEW,
        order=55,
        description="The learned weights that order search results for each shopper.",
    )
)


class WeightsForm(forms.Form):
    """A number per blend term (finite, within the staff bound), and a note."""

    note = forms.CharField(max_length=200, required=False, help_text="Why (kept with the blend).")

    def __init__(self, *args, terms: tuple[str, ...], initial_weights: dict, bound: float, **kw):
        super().__init__(*args, **kw)
        for term in terms:
            self.fields[FIELD_PREFIX + term] = forms.FloatField(
                label=term,
                min_value=-bound,
                max_value=bound,
                initial=round(initial_weights.get(term, 0.0), 4),
                widget=forms.NumberInput(attrs={"step": "any"}),
            )

    def weights(self) -> dict[str, float]:
        return {
            name.removeprefix(FIELD_PREFIX): value
            for name, value in self.cleaned_data.items()
            if name.startswith(FIELD_PREFIX)
        }


@staff_page(VIEW)
@require_http_methods(["GET", "POST"])
def search_blend_page(request: HttpRequest) -> HttpResponse:
    in_use, weights = blends.search_blend_in_use()
    form_options = {
        "terms": blends.search_blend_terms(),
        "initial_weights": weights,
        "bound": blends.MAX_STAFF_WEIGHT,
    }
    form = WeightsForm(**form_options)
    if request.method == "POST":
        if not request.user.has_perm(CHANGE):
            raise PermissionDenied
        if "learn" in request.POST:
            return _learn(request, blends)
        form = WeightsForm(request.POST, **form_options)
        if form.is_valid():
            try:
                blend = blends.search_blend_save(
                    weights=form.weights(),
                    editor=request.user.get_username(),
                    note=form.cleaned_data["note"],
                    based_on=in_use.pk if in_use else None,
                )
            except blends.BlendWeightsError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request, f"Saved as blend {blend.pk}: searches use it from now on."
                )
                return redirect(reverse("dashboards:search-blend"))
    history = list(SearchBlend.objects.order_by("-created_at", "-id")[:HISTORY])
    context = {
        "in_use": in_use,
        "metrics": _metrics(in_use),
        "rows": [
            (
                term,
                weight,
                blends.DEFAULT_WEIGHTS.get(term, 0.0),
                blends.search_blend_term_meaning(term),
                form[FIELD_PREFIX + term],
            )
            for term, weight in weights.items()
        ],
        # The features first, then their products and squares (folded away).
        "features_slice": f":{len(blends.LIVE_FEATURES)}",
        "interactions_slice": f"{len(blends.LIVE_FEATURES)}:",
        "interactions": len(weights) - len(blends.LIVE_FEATURES),
        "form": form,
        "can_change": request.user.has_perm(CHANGE),
        "history": history,
        "last_learning": blends.search_blend_last_learning(),
        "min_searches": blends.MIN_SEARCHES,
        "local_seconds": blends.LOCAL_SECONDS,
    }
    return dashboard_render(
        request,
        "admin/dashboards/blend.html",
        context,
        title="Search blend",
        charts=_charts(weights, blends.DEFAULT_WEIGHTS, history, blends.LIVE_FEATURES),
        status=400 if form.is_bound else 200,
    )


def _learn(request: HttpRequest, blends) -> HttpResponse:
    """Learn from the click log now: in this request where tasks run in process (no
    broker), else on a worker. ``blends``: the recommender.search_blend module."""
    try:
        result = learn_search_blend.apply_async()
    except Exception as exc:  # the broker is down: say so, never a 500
        messages.error(request, f"The task could not be queued (is the broker running?): {exc}")
        return redirect("dashboards:search-blend")
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        messages.info(
            request,
            "Learning from clicks on a worker: the new blend shows in the history when it "
            "is done (nothing changes while there are too few clicked searches).",
        )
    elif result.get() is not None:
        messages.success(request, f"Learned blend {result.get()} from the clicks: in use now.")
    else:
        outcome = blends.search_blend_last_learning()
        usable = outcome.usable_searches if outcome else 0
        messages.warning(
            request,
            f"Too few clicked searches to learn from: {usable} usable, "
            f"{blends.MIN_SEARCHES} needed (a search with exactly one clicked result among "
            "the products it showed, with their features logged). The blend in use is kept.",
        )
    return redirect(reverse("dashboards:search-blend"))


# What the learning stores in a blend's metrics (recommender.ml.ranking.fit_blend).
METRIC_LABELS = {
    "queries": "searches fitted",
    "loss": "loss (softmax cross-entropy of the clicked product; lower is better)",
    "converged": "optimizer converged",
    "based_on": "edited from blend",
}


def _metrics(blend: SearchBlend | None) -> list[tuple[str, str]]:
    """(label, value) of the blend's metrics, as the page prints them."""
    if blend is None:
        return []
    shown = []
    for key, value in sorted((blend.metrics or {}).items()):
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, float):
            value = f"{value:.4f}"
        shown.append((METRIC_LABELS.get(key, key.replace("_", " ")), str(value)))
    return shown


def _charts(weights: dict, defaults: dict, history: list[SearchBlend], features) -> list[Chart]:
    terms = list(weights)
    oldest_first = history[::-1]
    return [
        Chart(
            key="weights",
            title="Weights in use and the offline defaults",
            labels=terms,
            series=[
                Series("in use", [weights[t] for t in terms]),
                Series("offline defaults", [defaults.get(t, 0.0) for t in terms]),
            ],
            kind="bar",
            y_format="decimal",
            x_title="term",
        ),
        Chart(
            key="history",
            title="Feature weights blend after blend",
            labels=[f"#{b.pk} {b.created_at:%Y-%m-%d}" for b in oldest_first],
            series=[
                Series(name, [float((b.weights or {}).get(name, 0.0)) for b in oldest_first])
                for name in features
            ],
            y_format="decimal",
            x_title="blend",
        ),
    ]


urlpatterns = [path("search/blend/", search_blend_page, name="search-blend")]
