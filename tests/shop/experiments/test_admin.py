"""Experiments in the Django admin: a draft with its arms inline (checked together), a
started one read-only, no deleting what serves shoppers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from shop.models import Experiment
from tests.shop.experiments.helpers import experiment_made

pytestmark = pytest.mark.django_db
ADD_URL = reverse("admin:shop_experiment_add")


def add_post(share_b: str = "50") -> dict:
    return {
        "name": "From the admin",
        "hypothesis": "",
        "surface": "search",
        "primary_metric": "ctr",
        "minimum_detectable_effect": "0.1",
        "baseline": "",
        "alpha": "0.05",
        "power": "0.8",
        "arms-TOTAL_FORMS": "2",
        "arms-INITIAL_FORMS": "0",
        "arms-MIN_NUM_FORMS": "2",
        "arms-MAX_NUM_FORMS": "5",
        "arms-0-position": "0",
        "arms-0-name": "control",
        "arms-0-share": "50",
        "arms-0-variant": '{"search_order": "personalized"}',
        "arms-1-position": "1",
        "arms-1-name": "lexical",
        "arms-1-share": share_b,
        "arms-1-variant": '{"search_order": "lexical"}',
    }


def test_a_draft_is_added_with_its_arms_checked_together(admin_client, admin_user):
    response = admin_client.post(ADD_URL, add_post(share_b="30"))
    assert response.status_code == 200 and "must sum to 100" in response.content.decode()
    response = admin_client.post(ADD_URL, add_post())
    assert response.status_code == 302
    experiment = Experiment.objects.get(name="From the admin")
    assert experiment.is_draft and experiment.created_by == admin_user
    assert experiment.arms.count() == 2


def test_a_started_experiment_is_read_only_and_cannot_be_deleted(admin_client):
    experiment = experiment_made()
    url = reverse("admin:shop_experiment_change", args=[experiment.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="surface"' not in page and 'name="arms-0-share"' not in page
    assert reverse("dashboards:experiment", args=[experiment.pk]) in page
    delete = reverse("admin:shop_experiment_delete", args=[experiment.pk])
    assert admin_client.get(delete).status_code == 403
    changelist = admin_client.get(reverse("admin:shop_experiment_changelist"))
    assert "delete_selected" not in changelist.content.decode()
