"""The training dashboard: who may see, start and cancel; the start form's per-field
errors (the staff API's checks); a run's live state as JSON; the refreshes' pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from recommender.models import ModelVersion, RefreshRun, StopReason, TrainingRun
from shop.dashboards.nav import dashboard_pages
from tests.factories import UserFactory
from tests.recommender.api.helpers import client_for, staff_with

pytestmark = pytest.mark.django_db

PAGE = reverse("dashboards:training")


def run_url(name, pk):
    return reverse(f"dashboards:training-{name}", args=[pk])


@pytest.fixture
def boss():
    return client_for(UserFactory(username="boss", is_staff=True, is_superuser=True))


def test_the_training_page_is_in_the_navigation_for_those_who_may_view_runs():
    viewer = staff_with("recommender.view_trainingrun")
    other = staff_with("recommender.view_modelversion")
    assert "training" in [page.url_name for page, _ in dashboard_pages(viewer)]
    assert "training" not in [page.url_name for page, _ in dashboard_pages(other)]
    assert client_for(other).get(PAGE).status_code == 403
    assert client_for(UserFactory()).get(PAGE).status_code == 302  # to the admin's sign-in


def test_the_page_lists_runs_with_rounded_figures_and_links_to_their_live_page(boss):
    run = TrainingRun.objects.create(
        status="succeeded", epoch=3, max_epochs=3, loss=7.123456789012345, validation_ndcg=0.1
    )
    ModelVersion.objects.create(run=run, artifact_path="/v", holdout_ndcg=0.2)

    html = boss.get(PAGE).content.decode()

    assert run_url("run", run.pk) in html and "7.1235" in html
    assert "7.123456789" not in html
    assert reverse("admin:recommender_modelversion_change", args=[run.model_version.pk]) in html


def test_a_viewer_sees_no_start_form_and_may_not_post_one():
    viewer = client_for(staff_with("recommender.view_trainingrun"))
    assert 'id="training-start"' not in viewer.get(PAGE).content.decode()
    assert viewer.post(PAGE, {"activate": "never"}).status_code == 403
    assert not TrainingRun.objects.exists()


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"max_epochs": "0"}, "max_epochs", "greater than or equal to 1"),
        ({"max_epochs": "many"}, "max_epochs", "Enter a whole number"),
        ({"dropout": "1.5"}, "dropout", "less than or equal to 0.95"),
        ({"loss": "hinge"}, "loss", "Select a valid choice"),
        ({"activate": "sometimes"}, "activate", "Select a valid choice"),
        ({"n_heads": "3"}, "n_heads", "must divide dim (128)"),
        ({"dim": "30", "n_heads": "4"}, "n_heads", "must divide dim (30)"),
    ],
)
def test_the_form_says_what_is_wrong_next_to_each_field(data, field, message):
    starter = client_for(staff_with("recommender.view_trainingrun", "recommender.add_trainingrun"))
    response = starter.post(PAGE, {"activate": "if_better", **data})

    assert response.status_code == 400
    html = response.content.decode()
    block = re.search(
        rf'<div class="training-field errors">\s*<label for="id_{field}">.*?</div>', html, re.S
    )
    assert block and message in block.group(0)
    assert not TrainingRun.objects.exists()


def test_a_valid_form_queues_a_run_with_only_the_parameters_given(
    monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        "recommender.tasks.training_run_enqueue", lambda *, run: sent.append(run.pk)
    )
    starter = client_for(staff_with("recommender.view_trainingrun", "recommender.add_trainingrun"))

    response = starter.post(
        PAGE,
        {
            "activate": "never",
            "max_epochs": "5",
            "dim": "32",
            "n_heads": "2",
            "use_titles": "false",
            "dropout": "",
        },
    )

    run = TrainingRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run_url("run", run.pk)
    assert run.parameters == {
        "activate": "never",
        "max_epochs": 5,
        "dim": 32,
        "n_heads": 2,
        "use_titles": False,
    }
    assert run.max_epochs == 5 and sent == [run.pk] and run.requested_by is not None


def test_a_second_run_is_refused_while_one_is_pending(boss):
    pending = TrainingRun.objects.create(status=TrainingRun.Status.RUNNING)

    response = boss.post(PAGE, {"activate": "if_better"})

    assert response.status_code == 400
    assert f"Training run {pending.pk} is running" in response.content.decode()
    assert TrainingRun.objects.count() == 1


def test_the_live_state_has_progress_history_log_and_the_stop_note(boss):
    run = TrainingRun.objects.create(
        status="running",
        parameters={"max_train_seconds": 60},
        epoch=2,
        max_epochs=4,
        step=5,
        steps_per_epoch=10,
        loss=6.5,
        validation_ndcg=0.125,
        history=[{"epoch": 1, "loss": 7.0, "val_ndcg": 0.1, "elapsed": 3.0}],
        log_tail="10:00:00 exported 180 events\n10:00:03 epoch 1/4: loss 7.0000",
        stopped_by=StopReason.TIME_CAP,
        still_improving=True,
    )

    state = boss.get(run_url("run-status", run.pk)).json()

    assert state["progress"] == pytest.approx((1 + 5 / 10) / 4)
    assert state["loss"] == "6.5000" and state["validation_ndcg"] == "0.1250"
    assert state["best_validation_ndcg"] == "0.1000" and state["history"][0]["epoch"] == 1
    assert state["log"] == ["10:00:00 exported 180 events", "10:00:03 epoch 1/4: loss 7.0000"]
    assert state["stop_warning"] is True
    assert (
        "time cap (60 s) at epoch 2 of 4 while validation NDCG@10 was still improving"
        in (state["stop_note"])
    )
    assert state["can_cancel"] is True and state["is_finished"] is False


def test_the_live_page_embeds_its_state_chart_and_cancel_button(boss):
    run = TrainingRun.objects.create(
        status="running", history=[{"epoch": 1, "loss": 7.0, "val_ndcg": None, "elapsed": 2.0}]
    )

    html = boss.get(run_url("run", run.pk)).content.decode()

    assert 'id="live-state"' in html and run_url("run-status", run.pk) in html
    assert 'id="run-chart"' in html and 'id="run-cancel"' in html and "csrfmiddlewaretoken" in html
    assert "dashboards/training.js" in html
    assert boss.get(run_url("run", run.pk), {"csv": "history"}).content.decode().splitlines() == [
        "epoch,loss,validation NDCG@10",
        "1,7.0,",
    ]


def test_cancel_needs_the_change_permission_and_cancels_a_queued_run():
    run = TrainingRun.objects.create()
    viewer = client_for(staff_with("recommender.view_trainingrun"))
    canceller = client_for(
        staff_with("recommender.view_trainingrun", "recommender.change_trainingrun")
    )

    assert viewer.post(run_url("run-cancel", run.pk)).status_code == 403
    assert viewer.get(run_url("run-status", run.pk)).json()["can_cancel"] is False
    assert canceller.get(run_url("run-cancel", run.pk)).status_code == 405

    state = canceller.post(run_url("run-cancel", run.pk), HTTP_ACCEPT="application/json").json()

    assert state["status"] == "cancelled" and state["can_cancel"] is False
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED


def test_cancel_of_a_running_run_asks_it_to_stop_and_goes_back_to_its_page(boss):
    run = TrainingRun.objects.create(status=TrainingRun.Status.RUNNING)

    response = boss.post(run_url("run-cancel", run.pk), follow=True)

    assert response.redirect_chain[-1][0] == run_url("run", run.pk)
    assert "Cancellation of training run" in response.content.decode()
    run.refresh_from_db()
    assert run.cancel_requested and run.status == TrainingRun.Status.RUNNING


def test_refreshes_are_listed_with_their_live_page_and_need_their_own_permissions(
    active_version,
):
    refresh = RefreshRun.objects.create(
        model_version=active_version, status="running", chunks=4, chunks_done=1, users=2000
    )
    viewer = client_for(staff_with("recommender.view_trainingrun"))
    both = client_for(staff_with("recommender.view_trainingrun", "recommender.view_refreshrun"))

    assert 'id="training-refreshes"' not in viewer.get(PAGE).content.decode()
    assert viewer.get(run_url("refresh", refresh.pk)).status_code == 403
    assert run_url("refresh", refresh.pk) in both.get(PAGE).content.decode()
    state = both.get(run_url("refresh-status", refresh.pk)).json()
    assert state["progress"] == 0.25 and state["progress_text"] == "1 of 4 chunks"
    assert state["users"] == "2,000" and state["can_cancel"] is False
    assert both.post(reverse("dashboards:training-refresh-start")).status_code == 403


def test_a_refresh_without_an_active_model_is_refused_with_a_message(boss):
    response = boss.post(reverse("dashboards:training-refresh-start"), follow=True)

    assert "No model version is active" in response.content.decode()
    assert not RefreshRun.objects.exists()


def test_cancelling_a_running_refresh_ends_it_at_once(boss, active_version):
    refresh = RefreshRun.objects.create(model_version=active_version, status="running", chunks=3)

    state = boss.post(run_url("refresh-cancel", refresh.pk), HTTP_ACCEPT="application/json").json()

    assert state["status"] == "cancelled" and state["is_finished"] is True
    assert "cancelled" in state["message"]


def test_the_page_reads_a_fixed_number_of_small_queries_however_many_runs(
    boss, active_version, django_assert_max_num_queries
):
    for n in range(25):
        run = TrainingRun.objects.create(status="succeeded", epoch=3, max_epochs=3, loss=7.0)
        ModelVersion.objects.create(run=run, artifact_path=f"/v{n}")
    for _ in range(12):
        RefreshRun.objects.create(model_version=active_version, status="succeeded")

    # The user, the runs, the served version, the refreshes, the periodic tasks.
    with django_assert_max_num_queries(6):
        html = boss.get(PAGE).content.decode()

    assert html.count('href="/admin/dashboards/training/runs/') == 20
    assert html.count('href="/admin/dashboards/training/refreshes/') == 10


def test_a_running_run_that_stopped_reporting_is_flagged_on_its_page(boss):
    long_ago = timezone.now() - timedelta(hours=1)
    run = TrainingRun.objects.create(status="running", started_at=long_ago, heartbeat_at=long_ago)
    fresh = TrainingRun.objects.create(status="succeeded", heartbeat_at=long_ago)

    state = boss.get(run_url("run-status", run.pk)).json()

    assert state["stale"] is True and "No progress report for 1 h 00 min" in state["stale_note"]
    assert boss.get(run_url("run-status", fresh.pk)).json()["stale"] is False
