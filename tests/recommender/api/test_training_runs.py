"""Staff API: training runs (start with parameters, list, status and progress, cancel),
each behind its Django permission; a missing broker never makes a 500."""

import dataclasses
import json
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse
from kombu.exceptions import OperationalError

from recommender import tasks
from recommender.api.serializers import MODEL_DEFAULTS, MODEL_PARAMETERS
from recommender.ml import ModelConfig
from recommender.models import ModelVersion, TrainingRun
from recommender.training import runs
from recommender.training.pipeline import RUN_OPTIONS, model_config
from tests.factories import UserFactory
from tests.recommender.api.helpers import client_for, staff_with

pytestmark = pytest.mark.django_db

LIST_URL = reverse("v1:staff-training-run-list")


def detail_url(pk):
    return reverse("v1:staff-training-run-detail", args=[pk])


def cancel_url(pk):
    return reverse("v1:staff-training-run-cancel", args=[pk])


def start(client, parameters):
    return client.post(LIST_URL, data=json.dumps(parameters), content_type="application/json")


@pytest.fixture
def trainer():
    return client_for(staff_with("recommender.add_trainingrun"))


@pytest.fixture
def viewer():
    return client_for(staff_with("recommender.view_trainingrun"))


@pytest.fixture
def canceller():
    return client_for(staff_with("recommender.change_trainingrun"))


class FakeTrain:
    """Stands in for the training task's apply_async: records the call (no training)."""

    def __init__(self, error=None):
        self.calls = []
        self.error = error

    def __call__(self, *, args, queue):
        self.calls.append((args, queue))
        if self.error is not None:
            raise self.error
        return SimpleNamespace(id="task-1")


@pytest.fixture
def fake_train(monkeypatch):
    fake = FakeTrain()
    monkeypatch.setattr(tasks.train, "apply_async", fake)
    return fake


@pytest.mark.parametrize(
    "method, url, permission",
    [
        ("get", LIST_URL, "recommender.view_trainingrun"),
        ("post", LIST_URL, "recommender.add_trainingrun"),
        ("get", "detail", "recommender.view_trainingrun"),
        ("post", "cancel", "recommender.change_trainingrun"),
    ],
)
def test_each_endpoint_needs_its_permission(method, url, permission, fake_train):
    run = TrainingRun.objects.create(status=TrainingRun.Status.SUCCEEDED)
    url = {"detail": detail_url(run.pk), "cancel": cancel_url(run.pk)}.get(url, url)
    others = [
        UserFactory(),
        UserFactory(is_staff=True),
        staff_with("recommender.view_modelversion"),
    ]
    if method == "post":
        others.append(staff_with("recommender.view_trainingrun"))

    anonymous = getattr(Client(), method)(url)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    for user in others:
        refused = getattr(client_for(user), method)(url)
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert TrainingRun.objects.count() == 1  # nothing started

    body = {"content_type": "application/json"} if method == "post" else {}
    for user in (staff_with(permission), UserFactory(is_superuser=True)):
        response = getattr(client_for(user), method)(url, **body)
        # Allowed through; cancelling a finished run is the 409; a second start too.
        assert response.status_code in (200, 202, 409)
        TrainingRun.objects.exclude(pk=run.pk).update(status=TrainingRun.Status.FAILED)


def test_start_queues_a_run_with_its_parameters_for_the_training_queue(
    trainer, fake_train, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = start(trainer, {"max_epochs": 5, "dim": 32, "n_heads": 2, "activate": "never"})

    assert response.status_code == 202
    run = TrainingRun.objects.get()
    assert run.parameters == {"max_epochs": 5, "dim": 32, "n_heads": 2, "activate": "never"}
    assert run.status == TrainingRun.Status.QUEUED and run.trigger == "manual"
    assert run.requested_by.has_perm("recommender.add_trainingrun")
    assert fake_train.calls == [([run.pk], "training")]
    assert run.celery_task_id == "task-1"
    body = response.json()
    assert body["id"] == run.pk and body["status"] == "queued" and body["log"] == []


def test_start_without_parameters_activates_if_better(trainer, fake_train):
    assert start(trainer, {}).status_code == 202
    assert TrainingRun.objects.get().parameters == {"activate": "if_better"}


def test_a_broker_that_is_down_leaves_the_run_queued_without_a_500(
    trainer, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(
        tasks.train, "apply_async", FakeTrain(error=OperationalError("connection refused"))
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = start(trainer, {})

    assert response.status_code == 202
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.QUEUED and run.celery_task_id == ""


@pytest.mark.parametrize("busy", [TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING])
def test_start_while_a_run_is_pending_is_409(trainer, fake_train, busy):
    other = TrainingRun.objects.create(status=busy)

    response = start(trainer, {})

    assert response.status_code == 409
    assert response.json()["code"] == "conflict" and str(other.pk) in response.json()["message"]
    assert TrainingRun.objects.count() == 1 and fake_train.calls == []


@pytest.mark.parametrize(
    "parameters, field",
    [
        ({"bogus": 1}, "bogus"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"max_epochs": "many"}, "max_epochs"),
        ({"dropout": 1.5}, "dropout"),
        ({"loss": "hinge"}, "loss"),
        ({"jit_compile": "maybe"}, "jit_compile"),
        ({"activate": "sometimes"}, "activate"),
        ({"n_heads": 3}, "n_heads"),  # does not divide the default dim, 128
        ({"dim": 30, "n_heads": 4}, "n_heads"),
    ],
)
def test_start_rejects_invalid_parameters(trainer, fake_train, parameters, field):
    response = start(trainer, parameters)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["details"]
    assert not TrainingRun.objects.exists()


def test_start_rejects_a_body_that_is_not_an_object(trainer, fake_train):
    assert start(trainer, [1, 2]).status_code == 400


def test_the_parameters_are_those_of_the_model_config_with_its_defaults():
    config_fields = {f.name for f in dataclasses.fields(ModelConfig)}

    assert set(MODEL_PARAMETERS) == config_fields
    assert ModelConfig().to_dict() == MODEL_DEFAULTS
    assert set(RUN_OPTIONS) == {"activate", "include_sessions"}  # the serializer declares both


@pytest.mark.parametrize("bound", ["min_value", "max_value"])
def test_the_bounds_the_api_accepts_make_a_model_config(bound):
    fields = {name: field() for name, (field, _) in MODEL_PARAMETERS.items()}
    parameters = {
        name: getattr(field, bound)
        for name, field in fields.items()
        if getattr(field, bound, None) is not None
    }
    parameters["n_heads"] = 1  # divides any dim

    assert model_config({**parameters, "activate": "always", "include_sessions": False})


def test_list_is_newest_first_with_status_progress_and_version(viewer):
    old = TrainingRun.objects.create(status=TrainingRun.Status.SUCCEEDED)
    ModelVersion.objects.create(run=old, artifact_path="/v")
    new = TrainingRun.objects.create(status=TrainingRun.Status.RUNNING, epoch=3, loss=7.5)

    body = viewer.get(LIST_URL).json()

    assert [r["id"] for r in body["results"]] == [new.pk, old.pk]
    running, finished = body["results"]
    assert (running["status"], running["epoch"], running["loss"]) == ("running", 3, 7.5)
    assert running["is_finished"] is False and running["model_version"] is None
    assert finished["model_version"] == old.model_version.pk
    assert "log" not in running


def test_detail_has_the_log_tail_error_and_timings(viewer):
    run = TrainingRun.objects.create(
        status=TrainingRun.Status.FAILED,
        log_tail="10:00:00 exported\n10:00:05 epoch 1: loss 7.1",
        error="boom",
        timings={"export": 1.5},
    )

    body = viewer.get(detail_url(run.pk)).json()

    assert body["log"] == ["10:00:00 exported", "10:00:05 epoch 1: loss 7.1"]
    assert (body["error"], body["timings"], body["is_finished"]) == ("boom", {"export": 1.5}, True)
    assert viewer.get(detail_url(987654)).status_code == 404


def test_cancel_a_queued_run_cancels_it(canceller):
    run = TrainingRun.objects.create()

    response = canceller.post(cancel_url(run.pk))

    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED


def test_cancel_a_running_run_asks_it_to_stop(canceller):
    run = TrainingRun.objects.create(status=TrainingRun.Status.RUNNING)

    body = canceller.post(cancel_url(run.pk)).json()

    assert body["status"] == "running" and body["cancel_requested"] is True


@pytest.mark.parametrize(
    "status",
    [TrainingRun.Status.SUCCEEDED, TrainingRun.Status.FAILED, TrainingRun.Status.CANCELLED],
)
def test_cancel_a_finished_run_is_409(canceller, status):
    run = TrainingRun.objects.create(status=status)

    response = canceller.post(cancel_url(run.pk))

    assert response.status_code == 409 and response.json()["code"] == "conflict"
    run.refresh_from_db()
    assert run.status == status


def test_cancel_with_the_broker_down_still_cancels(canceller, monkeypatch):
    def revoke(task_id):
        raise OperationalError("connection refused")

    monkeypatch.setattr(
        runs, "current_app", SimpleNamespace(control=SimpleNamespace(revoke=revoke))
    )
    run = TrainingRun.objects.create(celery_task_id="task-1")

    response = canceller.post(cancel_url(run.pk))

    assert response.status_code == 202
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED


def test_cancel_an_unknown_run_is_404(canceller):
    assert canceller.post(cancel_url(987654)).status_code == 404
