"""Staff pages of the recommender: runs, versions, cached lists; permissions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from recommender.models import (
    ModelVersion,
    RefreshRun,
    StopReason,
    TrainingRun,
    UserRecommendation,
)
from recommender.training.pipeline import train_from_database
from recommender.training.versions import model_version_register
from tests.factories import UserFactory
from tests.recommender.conftest import TINY_MODEL

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_every_recommender_admin_page_loads(staff_client, active_version, shop_data):
    run = TrainingRun.objects.create(status="succeeded", log_tail="epoch 1: loss 7.1", device="CPU")
    active_version.run = run
    active_version.metrics = {
        "model": {"ndcg@10": 0.06, "hr@10": 0.1, "segments": {"cold": {"ndcg@10": 0.01}}},
        "baselines": {"popularity": {"ndcg@10": 0.01}},
    }
    active_version.save()
    UserRecommendation.objects.create(
        user=shop_data[0], model_version=active_version, items=[[900000, 0.5, 900001]]
    )
    RefreshRun.objects.create(model_version=active_version, users=1)
    for name, pk in (
        ("trainingrun", run.pk),
        ("modelversion", active_version.pk),
        ("userrecommendation", shop_data[0].pk),
        ("refreshrun", RefreshRun.objects.get().pk),
    ):
        assert staff_client.get(reverse(f"admin:recommender_{name}_changelist")).status_code == 200
        page = staff_client.get(reverse(f"admin:recommender_{name}_change", args=[pk]))
        assert page.status_code == 200, name
    version_page = staff_client.get(
        reverse("admin:recommender_modelversion_change", args=[active_version.pk])
    )
    assert b"0.0600" in version_page.content and b"popularity" in version_page.content


def test_the_version_page_lists_every_candidate_and_the_one_served(staff_client, shop_data):
    result = train_from_database(parameters=TINY_MODEL, log=lambda line: None)
    version = model_version_register(run=TrainingRun.objects.create(), result=result)
    page = staff_client.get(reverse("admin:recommender_modelversion_change", args=[version.pk]))
    html = page.content.decode()
    rows = {row.split("</td>")[0]: row for row in html.split("<tr><td>")[1:]}
    for name, candidate in result.metrics["candidates"].items():
        cells = rows[name]
        assert f"<td>{candidate['kind']}</td>" in cells
        assert f"{candidate['validation_ndcg@10']:.4f}" in cells
        assert f"{candidate['ndcg@10']:.4f}" in cells and f"{candidate['hr@10']:.4f}" in cells
        assert ("<td>served</td>" in cells) == candidate["served"]
    assert "popularity" in rows and "<td>baseline</td>" in rows["popularity"]
    assert "<td>baseline</td>" in rows["item_transitions (untuned)"]
    listing = staff_client.get(reverse("admin:recommender_modelversion_changelist"))
    assert result.model.name in listing.content.decode()


def test_a_run_page_shows_its_log_once_rounded_figures_and_links_to_its_live_page(staff_client):
    run = TrainingRun.objects.create(
        status="succeeded",
        log_tail="10:00:00 unique log line",
        loss=7.123456789012345,
        validation_ndcg=0.0612345678901234,
        timings={"export": 1.23456789},
        epoch=3,
        max_epochs=40,
        stopped_by=StopReason.TIME_CAP,
        still_improving=True,
    )

    html = staff_client.get(reverse("admin:recommender_trainingrun_change", args=[run.pk]))
    html = html.content.decode()

    assert html.count("unique log line") == 1
    assert "7.1235" in html and "0.0612" in html and "export 1.2 s" in html
    assert "7.12345678" not in html and "0.06123456" not in html and "1.23456789" not in html
    assert "while validation NDCG@10 was still improving" in html
    assert reverse("dashboards:training-run", args=[run.pk]) in html
    listing = staff_client.get(reverse("admin:recommender_trainingrun_changelist"))
    assert reverse("dashboards:training") in listing.content.decode()  # start with parameters


def test_a_refresh_page_links_to_its_live_page(staff_client, active_version):
    refresh = RefreshRun.objects.create(
        model_version=active_version, users=30, users_per_second=1234.5678
    )

    html = staff_client.get(reverse("admin:recommender_refreshrun_change", args=[refresh.pk]))

    assert reverse("dashboards:training-refresh", args=[refresh.pk]) in html.content.decode()
    assert "1,235" in html.content.decode()


def test_train_button_needs_a_post_and_a_staff_member(client):
    shopper = UserFactory()
    client.force_login(shopper)
    assert (
        client.post(reverse("admin:recommender_trainingrun_start")).status_code == 302
    )  # to the admin login
    assert not TrainingRun.objects.exists()


def test_staff_without_change_permission_cannot_start_training(client):
    viewer = UserFactory(is_staff=True)
    client.force_login(viewer)
    assert client.post(reverse("admin:recommender_trainingrun_start")).status_code == 403
    assert not TrainingRun.objects.exists()


def test_rollback_button_with_nothing_to_roll_back_says_so(staff_client, active_version):
    response = staff_client.post(reverse("admin:recommender_modelversion_rollback"), follow=True)
    assert b"no earlier version" in response.content
    assert ModelVersion.objects.get(is_active=True) == active_version


def test_activate_action_refuses_a_broken_version(staff_client, active_version):
    broken = ModelVersion.objects.create(artifact_path="/nonexistent", holdout_ndcg=0.9)
    response = staff_client.post(
        reverse("admin:recommender_modelversion_changelist"),
        {"action": "activate_version", "_selected_action": [broken.pk]},
        follow=True,
    )
    assert b"refused" in response.content
    assert ModelVersion.objects.get(is_active=True) == active_version


def test_cancel_action_stops_a_queued_run(staff_client):
    run = TrainingRun.objects.create()
    staff_client.post(
        reverse("admin:recommender_trainingrun_changelist"),
        {"action": "cancel_runs", "_selected_action": [run.pk]},
    )
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED
