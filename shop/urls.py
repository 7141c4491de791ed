from django.urls import path

from shop import favicon, storefront_cart, views

app_name = "shop"
urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", favicon.favicon, name="favicon"),
    path("search/", views.search, name="search"),
    path("search/autocomplete/", views.search_autocomplete_view, name="search-autocomplete"),
    path("products/<int:pk>/", views.product_detail, name="product"),
    path("privacy/personalization/", views.personalization_preference, name="personalization"),
    path("cart/", storefront_cart.cart, name="cart"),
    path("cart/add/", storefront_cart.cart_add, name="cart-add"),
    path("cart/lines/<int:product_id>/", storefront_cart.cart_line, name="cart-line"),
    path("checkout/", storefront_cart.checkout, name="checkout"),
    path("orders/", storefront_cart.orders, name="orders"),
    path("orders/<int:pk>/", storefront_cart.order, name="order"),
]
