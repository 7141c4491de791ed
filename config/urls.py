from django.apps import apps
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

# API v1: the shop's endpoints, and the recommender's staff endpoints when the plugin is
# installed. One namespace, which is the version (NamespaceVersioning).
api_v1 = [path("", include("shop.api.urls"))]
if apps.is_installed("recommender"):
    api_v1.append(path("", include("recommender.api.urls")))

# Staff dashboards inside the admin: the shop's pages, and the recommender's when installed.
dashboards = [path("", include("shop.dashboards.urls"))]
if apps.is_installed("recommender"):
    dashboards.append(path("", include("recommender.dashboards.urls")))

urlpatterns = [
    path("admin/dashboards/", include((dashboards, "dashboards"), namespace="dashboards")),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include((api_v1, "v1"), namespace="v1")),
    # OpenAPI 3 schema, and its Swagger UI and ReDoc pages (assets served by the project
    # from drf-spectacular-sidecar: nothing is loaded from a CDN).
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html"),
        name="api-redoc",
    ),
    path("", include("shop.urls")),
]

# Under /api/, Django's own 404 and 500 answer in the API's error shape.
handler404 = "shop.api.errors.not_found"
handler500 = "shop.api.errors.server_error"
