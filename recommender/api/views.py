"""Staff endpoints of the recommender (API v1): model versions and training runs.

Thin views over recommender.training (versions, runs) and recommender.tasks (enqueue),
the same services the admin's buttons call. Each checks its Django permission
(``shop.api.staff.HasPermission``): anonymous callers get 401, staff without the
permission 403.
"""

from __future__ import annotations

import logging

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from kombu.exceptions import OperationalError
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from recommender.api.serializers import (
    ModelVersionDetailSerializer,
    ModelVersionSerializer,
    TrainingRunDetailSerializer,
    TrainingRunSerializer,
    TrainingRunStartSerializer,
)
from recommender.models import ModelVersion, TrainingRun
from recommender.serving.model import ArtifactError
from recommender.tasks import training_run_start
from recommender.training.runs import TrainingPending, training_run_cancel
from recommender.training.versions import model_version_activate, model_version_rollback
from shop.api.base import V1Defaults
from shop.api.catalogue import ProductPagination
from shop.api.staff import (
    Conflict,
    HasPermission,
    StaffListView,
    StaffView,
    staff_errors,
)

logger = logging.getLogger(__name__)

VIEW_VERSIONS = "recommender.view_modelversion"
CHANGE_VERSIONS = "recommender.change_modelversion"
VIEW_RUNS = "recommender.view_trainingrun"
ADD_RUNS = "recommender.add_trainingrun"
CHANGE_RUNS = "recommender.change_trainingrun"

METRICS_EXAMPLE = {
    "name": "ensemble",
    "kind": "ensemble",
    "served": True,
    "validation_ndcg_at_10": 0.0712,
    "hr_at_10": 0.1104,
    "ndcg_at_10": 0.0683,
    "hr_at_20": 0.1489,
    "ndcg_at_20": 0.0781,
    "mrr": 0.0611,
    "coverage_at_10": 0.4123,
    "ndcg_at_10_by_segment": {"cold": 0.031, "warm": 0.066, "hot": 0.082},
}
VERSION_EXAMPLE = {
    "id": 7,
    "run": 12,
    "is_active": True,
    "served_kind": "ensemble",
    "holdout_ndcg": 0.0683,
    "best_baseline_ndcg_at_10": 0.0521,
    "event_count": 198502,
    "user_count": 22363,
    "item_count": 12101,
    "data_cutoff": "2025-05-31T23:59:12Z",
    "device": "GPU: NVIDIA H200",
    "created_at": "2025-06-01T02:10:00Z",
    "activated_at": "2025-06-01T02:41:07Z",
    "refused_reason": "",
}
VERSION_DETAIL_EXAMPLE = {
    **VERSION_EXAMPLE,
    "config": {"dim": 128, "max_len": 50, "n_blocks": 2},
    "metrics": {"model": {"name": "ensemble", "ndcg@10": 0.0683}},
    "candidates": [METRICS_EXAMPLE],
    "baselines": [{**METRICS_EXAMPLE, "name": "popularity", "kind": "baseline", "served": False}],
}
RUN_EXAMPLE = {
    "id": 12,
    "status": "running",
    "is_finished": False,
    "trigger": "manual",
    "parameters": {"activate": "if_better", "max_epochs": 40},
    "requested_by": 3,
    "cancel_requested": False,
    "epoch": 5,
    "step": 410,
    "loss": 7.42,
    "validation_ndcg": 0.0655,
    "device": "",
    "created_at": "2025-06-01T02:00:00Z",
    "started_at": "2025-06-01T02:00:03Z",
    "heartbeat_at": "2025-06-01T02:09:58Z",
    "finished_at": None,
    "duration_seconds": 595.0,
    "model_version": None,
}
RUN_DETAIL_EXAMPLE = {
    **RUN_EXAMPLE,
    "log": ["02:09:58 epoch 5: loss 7.4200 val NDCG@10 0.0655"],
    "error": "",
    "timings": {"export": 4.1},
}


def _version_response(version: ModelVersion) -> Response:
    return Response(ModelVersionDetailSerializer(version).data)


# ------------------------------------------------------------------------- model versions


@extend_schema(
    summary="Model versions (staff)",
    responses={200: ModelVersionSerializer(many=True), **staff_errors(400, 404)},
    examples=[OpenApiExample("A version", value=VERSION_EXAMPLE, response_only=True)],
)
class ModelVersionListView(StaffListView):
    """Every registered model version, newest first, page by page. Needs
    ``recommender.view_modelversion``."""

    required_permissions = {"GET": VIEW_VERSIONS}
    serializer_class = ModelVersionSerializer
    pagination_class = ProductPagination
    queryset = ModelVersion.objects.order_by("-created_at", "-id")


@extend_schema(
    summary="One model version with its metrics (staff)",
    responses={200: ModelVersionDetailSerializer, **staff_errors(404)},
    examples=[OpenApiExample("A version", value=VERSION_DETAIL_EXAMPLE, response_only=True)],
)
class ModelVersionDetailView(V1Defaults, generics.RetrieveAPIView):
    """A version with its config, raw metrics, and the holdout table of the admin's
    version page: every candidate of its run (the served one marked) and the untuned
    baselines. Needs ``recommender.view_modelversion``."""

    permission_classes = [HasPermission]
    required_permissions = {"GET": VIEW_VERSIONS}
    serializer_class = ModelVersionDetailSerializer
    queryset = ModelVersion.objects.all()


class ModelVersionActivateView(StaffView):
    required_permissions = {"POST": CHANGE_VERSIONS}

    @extend_schema(
        summary="Activate a model version (staff)",
        request=None,
        responses={200: ModelVersionDetailSerializer, **staff_errors(404, 409)},
        examples=[
            OpenApiExample(
                "Activated",
                value={**VERSION_DETAIL_EXAMPLE, "is_active": True},
                response_only=True,
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        """Serve this version from now on (``model_version_activate``): every process
        switches without a restart and the cached top-K is refreshed. A version whose
        artifact is missing or does not load is refused with 409 (its
        ``refused_reason`` says why) and the active version stays. Needs
        ``recommender.change_modelversion``."""
        version = get_object_or_404(ModelVersion, pk=pk)
        try:
            version = model_version_activate(version=version)
        except ArtifactError as exc:
            raise Conflict(f"Model v{version.pk} refused: {exc}") from exc
        return _version_response(version)


class ModelVersionRollbackView(StaffView):
    required_permissions = {"POST": CHANGE_VERSIONS}

    @extend_schema(
        summary="Roll back to the previous model version (staff)",
        request=None,
        responses={200: ModelVersionDetailSerializer, **staff_errors(409)},
        examples=[OpenApiExample("Rolled back", value=VERSION_DETAIL_EXAMPLE, response_only=True)],
    )
    def post(self, request: Request) -> Response:
        """Activate the most recent version older than the active one
        (``model_version_rollback``) and answer it. 409 when there is none, or when its
        artifact is refused (the active version stays). Needs
        ``recommender.change_modelversion``."""
        try:
            version = model_version_rollback()
        except ArtifactError as exc:
            raise Conflict(f"Rollback refused: {exc}") from exc
        if version is None:
            raise Conflict("There is no earlier version to roll back to.")
        return _version_response(version)


# -------------------------------------------------------------------------- training runs

START_EXAMPLE = {"activate": "if_better", "max_epochs": 40, "dim": 64}


class TrainingRunListView(StaffListView):
    required_permissions = {"GET": VIEW_RUNS, "POST": ADD_RUNS}
    serializer_class = TrainingRunSerializer
    pagination_class = ProductPagination
    queryset = TrainingRun.objects.select_related("model_version").order_by("-created_at", "-id")

    @extend_schema(
        summary="Training runs (staff)",
        responses={200: TrainingRunSerializer(many=True), **staff_errors(400, 404)},
        examples=[OpenApiExample("A run", value=RUN_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        """Training runs, newest first, page by page, with their status and progress.
        Needs ``recommender.view_trainingrun``."""
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Start a training run (staff)",
        request=TrainingRunStartSerializer,
        responses={202: TrainingRunDetailSerializer, **staff_errors(400, 409)},
        examples=[
            OpenApiExample("Forty epochs", value=START_EXAMPLE, request_only=True),
            OpenApiExample(
                "Queued",
                value={**RUN_DETAIL_EXAMPLE, "status": "queued", "epoch": 0, "log": []},
                response_only=True,
                status_codes=["202"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        """Queue a training run with these parameters for a worker on the ``training``
        queue, as the admin's button and ``manage.py train --async`` do; 202 with the
        run. Follow it at its detail endpoint. 409 while another run is queued or
        running (cancel it first). When the broker is unreachable the run stays queued
        (and the failure is logged); cancel it and start again once it is back. Needs
        ``recommender.add_trainingrun``."""
        serializer = TrainingRunStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            run = training_run_start(parameters=serializer.validated_data, user=request.user)
        except TrainingPending as exc:
            raise Conflict(str(exc)) from exc
        run.refresh_from_db()
        return Response(TrainingRunDetailSerializer(run).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    summary="One training run: status, progress, log (staff)",
    responses={200: TrainingRunDetailSerializer, **staff_errors(404)},
    examples=[OpenApiExample("Running", value=RUN_DETAIL_EXAMPLE, response_only=True)],
)
class TrainingRunDetailView(V1Defaults, generics.RetrieveAPIView):
    """A run's status, progress (epoch, step, loss, validation NDCG@10, heartbeat), the
    tail of its log, its error and timings, and the version it registered. Needs
    ``recommender.view_trainingrun``."""

    permission_classes = [HasPermission]
    required_permissions = {"GET": VIEW_RUNS}
    serializer_class = TrainingRunDetailSerializer
    queryset = TrainingRun.objects.select_related("model_version")


class TrainingRunCancelView(StaffView):
    required_permissions = {"POST": CHANGE_RUNS}

    @extend_schema(
        summary="Cancel a training run (staff)",
        request=None,
        responses={202: TrainingRunDetailSerializer, **staff_errors(404, 409)},
        examples=[
            OpenApiExample(
                "Cancellation requested",
                value={**RUN_DETAIL_EXAMPLE, "cancel_requested": True},
                response_only=True,
                status_codes=["202"],
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        """Cancel a run (``training_run_cancel``): a queued one is cancelled at once, a
        running one stops at its next progress report (``cancel_requested`` is set;
        the active version is unchanged). 409 when the run has already finished. Needs
        ``recommender.change_trainingrun``."""
        run = get_object_or_404(TrainingRun, pk=pk)
        if run.is_finished:
            raise Conflict(f"Training run {run.pk} has already finished ({run.status}).")
        try:
            training_run_cancel(run=run)
        except OperationalError:
            # The run is cancelled; only revoking its queued task failed (the broker is
            # down), and a worker refuses a run that is no longer queued anyway.
            logger.warning("Could not revoke the task of training run %s", run.pk, exc_info=True)
        run.refresh_from_db()
        return Response(TrainingRunDetailSerializer(run).data, status=status.HTTP_202_ACCEPTED)
