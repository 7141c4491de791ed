from importlib.util import find_spec

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("shop.urls")),
]

# The recommender plugin's pages, when it is installed and has any.
if "recommender" in settings.INSTALLED_APPS and find_spec("recommender.urls") is not None:
    urlpatterns.insert(0, path("", include("recommender.urls")))
