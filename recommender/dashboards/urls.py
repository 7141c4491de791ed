"""The recommender's dashboard pages (models, training, the search blend), mounted
beside the shop's under /admin/dashboards/."""

from recommender.dashboards import blend, training, versions

urlpatterns = [*versions.urlpatterns, *training.urlpatterns, *blend.urlpatterns]
