"""The shop's dashboard pages, mounted under /admin/dashboards/ in the "dashboards"
namespace (config/urls.py adds the recommender's when it is installed)."""

from shop.dashboards import experiments, inspector, overview, search

urlpatterns = [
    *overview.urlpatterns,
    *search.urlpatterns,
    *inspector.urlpatterns,
    *experiments.urlpatterns,
]
