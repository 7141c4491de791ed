from django.urls import path

from shop import favicon, views

app_name = "shop"
urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", favicon.favicon, name="favicon"),
    path("search/", views.search, name="search"),
    path("search/autocomplete/", views.search_autocomplete_view, name="search-autocomplete"),
    path("products/<int:pk>/", views.product_detail, name="product"),
    path("privacy/personalization/", views.personalization_preference, name="personalization"),
]
