"""Staff API: model versions (list, detail with the candidates and baselines, activate,
roll back), each behind its Django permission."""

import shutil

import pytest
from django.test import Client
from django.urls import reverse

from recommender.models import ModelVersion
from recommender.serving.model import active_model
from tests.factories import UserFactory
from tests.recommender.api.helpers import client_for, staff_with

pytestmark = pytest.mark.django_db

LIST_URL = reverse("v1:staff-model-version-list")
ROLLBACK_URL = reverse("v1:staff-model-version-rollback")


def detail_url(pk):
    return reverse("v1:staff-model-version-detail", args=[pk])


def activate_url(pk):
    return reverse("v1:staff-model-version-activate", args=[pk])


@pytest.fixture
def viewer():
    return client_for(staff_with("recommender.view_modelversion"))


@pytest.fixture
def changer():
    return client_for(staff_with("recommender.change_modelversion"))


METRICS = {
    "model": {"name": "ensemble", "kind": "ensemble", "ndcg@10": 0.07},
    "candidates": {
        "transformer": {"kind": "transformer", "validation_ndcg@10": 0.05, "ndcg@10": 0.06},
        "item_transitions": {"kind": "transitions", "ndcg@10": 0.065, "hr@10": 0.1},
        "ensemble": {
            "kind": "ensemble",
            "served": True,
            "ndcg@10": 0.07,
            "segments": {"cold": {"ndcg@10": 0.01}, "hot": {"ndcg@10": 0.09}},
        },
    },
    "baselines": {"popularity": {"ndcg@10": 0.02}, "item_transitions": {"ndcg@10": 0.04}},
}


@pytest.mark.parametrize(
    "method, url, permission",
    [
        ("get", LIST_URL, "recommender.view_modelversion"),
        ("get", "detail", "recommender.view_modelversion"),
        ("post", "activate", "recommender.change_modelversion"),
        ("post", ROLLBACK_URL, "recommender.change_modelversion"),
    ],
)
def test_each_endpoint_needs_its_permission(method, url, permission, monkeypatch):
    version = ModelVersion.objects.create(artifact_path="/nonexistent")
    url = {"detail": detail_url(version.pk), "activate": activate_url(version.pk)}.get(url, url)

    anonymous = getattr(Client(), method)(url)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    others = [UserFactory(), UserFactory(is_staff=True), staff_with("recommender.view_trainingrun")]
    if permission.startswith("recommender.change"):
        others.append(staff_with("recommender.view_modelversion"))
    for user in others:
        refused = getattr(client_for(user), method)(url)
        assert refused.status_code == 403, user
        assert refused.json()["code"] == "permission_denied"

    for user in (staff_with(permission), UserFactory(is_superuser=True)):
        # Allowed through; a missing artifact / nothing to roll back is the service's 409.
        assert getattr(client_for(user), method)(url).status_code in (200, 409)


def test_list_is_newest_first_and_paginated(viewer):
    versions = [ModelVersion.objects.create(artifact_path=f"/v{n}") for n in range(3)]

    first = viewer.get(LIST_URL, {"page_size": 2}).json()
    second = viewer.get(first["next"]).json()

    assert first["count"] == 3
    assert [v["id"] for v in first["results"] + second["results"]] == [
        v.pk for v in reversed(versions)
    ]
    assert viewer.get(LIST_URL, {"page_size": 0}).status_code == 400


def test_list_shows_the_served_kind_and_the_best_baseline(viewer):
    ModelVersion.objects.create(artifact_path="/v", metrics=METRICS, holdout_ndcg=0.07)

    (row,) = viewer.get(LIST_URL).json()["results"]

    assert row["served_kind"] == "ensemble"
    assert row["best_baseline_ndcg_at_10"] == 0.04
    assert "metrics" not in row


def test_detail_lists_every_candidate_the_served_one_and_the_baselines(viewer):
    version = ModelVersion.objects.create(artifact_path="/v", metrics=METRICS, config={"dim": 16})

    body = viewer.get(detail_url(version.pk)).json()

    assert body["config"] == {"dim": 16} and body["metrics"] == METRICS
    candidates = {row["name"]: row for row in body["candidates"]}
    assert set(candidates) == {"transformer", "item_transitions", "ensemble"}
    assert [name for name, row in candidates.items() if row["served"]] == ["ensemble"]
    assert candidates["transformer"]["validation_ndcg_at_10"] == 0.05
    assert candidates["item_transitions"]["hr_at_10"] == 0.1
    assert candidates["ensemble"]["ndcg_at_10_by_segment"] == {
        "cold": 0.01,
        "warm": None,
        "hot": 0.09,
    }
    assert [(b["name"], b["kind"], b["ndcg_at_10"]) for b in body["baselines"]] == [
        ("popularity", "baseline", 0.02),
        ("item_transitions (untuned)", "baseline", 0.04),
    ]


def test_a_version_from_before_candidates_shows_its_transformer(viewer):
    version = ModelVersion.objects.create(artifact_path="/v", metrics={"model": {"ndcg@10": 0.5}})

    body = viewer.get(detail_url(version.pk)).json()

    assert [(c["name"], c["kind"], c["served"], c["ndcg_at_10"]) for c in body["candidates"]] == [
        ("model", "transformer", True, 0.5)
    ]
    assert body["served_kind"] == "sasrec_fused" and body["baselines"] == []


def test_unknown_version_is_404(viewer, changer):
    assert viewer.get(detail_url(987654)).json()["code"] == "not_found"
    assert changer.post(activate_url(987654)).status_code == 404


def test_activate_serves_the_version(
    changer, active_version, newer_version, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = changer.post(activate_url(newer_version.pk))

    assert response.status_code == 200
    assert response.json()["id"] == newer_version.pk and response.json()["is_active"] is True
    assert ModelVersion.objects.get(is_active=True) == newer_version
    assert active_model().version_id == newer_version.pk


def test_a_broken_version_is_refused_with_409_and_the_active_one_stays(
    changer, active_version, tmp_path
):
    broken_dir = tmp_path / "broken"
    shutil.copytree(active_version.artifact_path, broken_dir)
    for file in broken_dir.iterdir():
        if file.is_file():
            file.write_bytes(b"not a model")
    broken = ModelVersion.objects.create(artifact_path=str(broken_dir))

    response = changer.post(activate_url(broken.pk))

    assert response.status_code == 409
    assert response.json()["code"] == "conflict" and f"v{broken.pk}" in response.json()["message"]
    assert ModelVersion.objects.get(is_active=True) == active_version
    broken.refresh_from_db()
    assert broken.refused_reason


def test_rollback_activates_the_previous_version(
    changer, active_version, newer_version, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert changer.post(activate_url(newer_version.pk)).status_code == 200
        response = changer.post(ROLLBACK_URL)

    assert response.status_code == 200
    assert response.json()["id"] == active_version.pk
    assert ModelVersion.objects.get(is_active=True) == active_version


def test_rollback_with_nothing_to_roll_back_to_is_409(changer, active_version):
    response = changer.post(ROLLBACK_URL)

    assert response.status_code == 409
    assert response.json() == {
        "code": "conflict",
        "message": "There is no earlier version to roll back to.",
        "details": {},
    }
    assert ModelVersion.objects.get(is_active=True) == active_version
