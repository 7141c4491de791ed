"""The search blend page: the weights in use with their meaning, when and from how many
searches they were learned, the history; staff with the change permission save their
own weights (validated; in use at once) and ask for learning from clicks now."""

from __future__ import annotations

import math

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from kombu.exceptions import OperationalError

from recommender.dashboards import blend as blend_page
from recommender.ml.ranking import DEFAULT_WEIGHTS
from recommender.models import SearchBlend
from recommender.search_blend import (
    BlendWeightsError,
    search_blend_current,
    search_blend_save,
    search_blend_terms,
)
from tests.factories import UserFactory
from tests.recommender.test_search_blend import log_searches

pytestmark = pytest.mark.django_db
URL = reverse("dashboards:search-blend")


def staff_with(*codenames):
    user = UserFactory(is_staff=True)
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="recommender", codename=codename)
        )
    return user


@pytest.fixture
def viewer(client):
    client.force_login(staff_with("view_searchblend"))
    return client


@pytest.fixture
def editor(client):
    client.force_login(staff_with("view_searchblend", "change_searchblend"))
    return client


def posted_weights(weights: dict, **extra) -> dict:
    return {**{f"w_{t}": str(v) for t, v in weights.items()}, "save": "1", **extra}


def test_seeing_the_blend_needs_its_view_permission(client):
    client.force_login(staff_with())
    assert client.get(URL).status_code == 403
    client.force_login(staff_with("view_searchblend"))
    response = client.get(URL)
    assert response.status_code == 200
    assert ("Search blend", URL) in [(p.label, u) for p, u in response.context["dashboard_nav"]]


def test_without_a_stored_blend_the_offline_defaults_show_with_their_meaning(viewer):
    response = viewer.get(URL)

    assert response.context["in_use"] is None
    rows = {term: (weight, meaning) for term, weight, _, meaning, _ in response.context["rows"]}
    assert list(rows) == list(search_blend_terms())
    assert rows["affinity"][0] == DEFAULT_WEIGHTS["affinity"]
    assert "affinity" in rows["affinity"][1] and "both high" in rows["text*affinity"][1]
    assert "offline-tuned defaults serve" in response.content.decode()
    assert 'name="w_text"' not in response.content.decode()  # no form without the change


def test_the_learned_blend_shows_when_from_how_many_searches_and_its_metrics(viewer):
    SearchBlend.objects.create(weights={"text": 1.0}, searches=10, metrics={"loss": 2.0})
    learned = SearchBlend.objects.create(
        weights={"text": 0.5, "affinity": 0.25},
        searches=321,
        metrics={"loss": 1.23456, "converged": True, "queries": 321},
    )

    response = viewer.get(URL)

    assert response.context["in_use"] == learned
    assert ("optimizer converged", "yes") in response.context["metrics"]
    assert "1.2346" in dict(response.context["metrics"]).values()
    page = response.content.decode()
    assert "from 321 clicked searches" in page
    assert [b.pk for b in response.context["history"]] == [learned.pk, learned.pk - 1]
    weights = dict((t, w) for t, w, *_ in response.context["rows"])
    assert (weights["text"], weights["affinity"], weights["brand"]) == (0.5, 0.25, 0.0)
    assert response.context["charts"]["history"].series[0].values == [1.0, 0.5]


def test_staff_weights_are_saved_as_a_new_blend_in_use_at_once(editor):
    assert search_blend_current().as_dict()["text"] == DEFAULT_WEIGHTS["text"]  # kept warm
    weights = {t: 0.0 for t in search_blend_terms()} | {"text": 2.5, "bought": -1.0}

    response = editor.post(URL, posted_weights(weights, note="text first"), follow=True)

    blend = SearchBlend.objects.get()
    assert (blend.source, blend.searches) == (SearchBlend.Source.STAFF, 0)
    assert blend.note.endswith(": text first")
    assert blend.weights == weights
    assert search_blend_current().as_dict() == weights
    assert "searches use it from now on" in response.content.decode()


@pytest.mark.parametrize("value", ["abc", "", "1e400", "101"])
def test_a_weight_must_be_a_number_in_range(editor, value):
    weights = dict.fromkeys(search_blend_terms(), 0.1)
    data = posted_weights(weights) | {"w_affinity": value}

    response = editor.post(URL, data)

    assert response.status_code == 400
    assert "w_affinity" in response.context["form"].errors
    assert not SearchBlend.objects.exists()


def test_the_service_refuses_unknown_terms_and_non_finite_weights():
    with pytest.raises(BlendWeightsError, match="unknown terms: colour"):
        search_blend_save(weights={"text": 1.0, "colour": 2.0}, editor="staff")
    with pytest.raises(BlendWeightsError, match="text"):
        search_blend_save(weights={"text": math.nan}, editor="staff")
    assert not SearchBlend.objects.exists()


def test_only_staff_who_may_change_the_blend_edit_or_learn(viewer):
    weights = dict.fromkeys(search_blend_terms(), 0.1)

    assert viewer.post(URL, posted_weights(weights)).status_code == 403
    assert viewer.post(URL, {"learn": "1"}).status_code == 403
    assert not SearchBlend.objects.exists()


def test_learning_now_says_when_there_are_too_few_clicked_searches(editor):
    log_searches(3)

    response = editor.post(URL, {"learn": "1"}, follow=True)

    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Too few clicked searches to learn from: 3 usable, 200 needed" in message
    assert not SearchBlend.objects.exists()
    assert "3 usable clicked searches, 200 needed" in response.content.decode()


def test_learning_now_stores_a_blend_from_the_clicks(editor):
    log_searches(200)

    response = editor.post(URL, {"learn": "1"}, follow=True)

    blend = SearchBlend.objects.get()
    assert (blend.source, blend.searches) == (SearchBlend.Source.CLICKS, 200)
    assert response.context["in_use"] == blend
    assert search_blend_current().as_dict() == pytest.approx(blend.weights)


def test_learning_now_with_the_broker_down_says_so_not_a_500(editor, monkeypatch):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(blend_page.learn_search_blend, "apply_async", broker_down)
    response = editor.post(URL, {"learn": "1"}, follow=True)
    assert response.status_code == 200
    message = " ".join(str(m) for m in response.context["messages"])
    assert "could not be queued (is the broker running?)" in message
