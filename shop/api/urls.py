"""API v1 routes. Included by config.urls as ``include(("shop.api.urls", "v1"),
namespace="v1")``: the namespace is the version (NamespaceVersioning)."""

from django.urls import path

from shop.api import views

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="product-list"),
    path("products/<int:pk>/", views.ProductDetailView.as_view(), name="product-detail"),
    path(
        "products/<int:pk>/similar/",
        views.SimilarProductsView.as_view(),
        name="product-similar",
    ),
    path("search/", views.SearchView.as_view(), name="search"),
    path(
        "search/autocomplete/",
        views.SearchAutocompleteView.as_view(),
        name="search-autocomplete",
    ),
    path("recommendations/", views.RecommendationsView.as_view(), name="recommendations"),
    path("events/", views.EventBatchView.as_view(), name="events"),
    path("me/events/", views.MyEventsView.as_view(), name="my-events"),
]
