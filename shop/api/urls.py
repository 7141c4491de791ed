"""API v1 routes. Included by config.urls as ``include(("shop.api.urls", "v1"),
namespace="v1")``: the namespace is the version (NamespaceVersioning)."""

from django.urls import path

from shop.api import auth, cart, catalogue, events, me, search, staff

urlpatterns = (
    [
        path("products/", catalogue.ProductListView.as_view(), name="product-list"),
        path("products/<int:pk>/", catalogue.ProductDetailView.as_view(), name="product-detail"),
        path(
            "products/<int:pk>/similar/",
            catalogue.SimilarProductsView.as_view(),
            name="product-similar",
        ),
        path("search/", search.SearchView.as_view(), name="search"),
        path(
            "search/autocomplete/",
            search.SearchAutocompleteView.as_view(),
            name="search-autocomplete",
        ),
        path("recommendations/", catalogue.RecommendationsView.as_view(), name="recommendations"),
        path("events/", events.EventBatchView.as_view(), name="events"),
    ]
    + catalogue.urlpatterns
    + auth.urlpatterns
    + me.urlpatterns
    + cart.urlpatterns
    + staff.urlpatterns
)
