from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The mobile app's REST API: the namespace is the version (NamespaceVersioning).
    path("api/v1/", include(("shop.api.urls", "v1"), namespace="v1")),
    # OpenAPI 3 schema of the API. No docs page: Swagger UI / Redoc load their JS from a
    # CDN (drf-spectacular-sidecar is not installed); feed the schema to any viewer.
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="api-schema"),
    path("", include("shop.urls")),
]
