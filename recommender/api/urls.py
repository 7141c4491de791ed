"""Staff endpoints of the recommender, under /api/v1/staff/."""

from django.urls import path

from recommender.api import views

urlpatterns = [
    path(
        "staff/model-versions/",
        views.ModelVersionListView.as_view(),
        name="staff-model-version-list",
    ),
    path(
        "staff/model-versions/rollback/",
        views.ModelVersionRollbackView.as_view(),
        name="staff-model-version-rollback",
    ),
    path(
        "staff/model-versions/<int:pk>/",
        views.ModelVersionDetailView.as_view(),
        name="staff-model-version-detail",
    ),
    path(
        "staff/model-versions/<int:pk>/activate/",
        views.ModelVersionActivateView.as_view(),
        name="staff-model-version-activate",
    ),
    path(
        "staff/training-runs/",
        views.TrainingRunListView.as_view(),
        name="staff-training-run-list",
    ),
    path(
        "staff/training-runs/<int:pk>/",
        views.TrainingRunDetailView.as_view(),
        name="staff-training-run-detail",
    ),
    path(
        "staff/training-runs/<int:pk>/cancel/",
        views.TrainingRunCancelView.as_view(),
        name="staff-training-run-cancel",
    ),
]
