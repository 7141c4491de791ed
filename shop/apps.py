from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Cache invalidation on saves; a storefront login joins the anonymous session's
        # events (accounts) and cart (orders) to the shopper; the dashboards' rollups
        # register themselves as their modules load (activity, analytics, outcomes).
        from shop import accounts, activity, analytics, orders, receivers  # noqa: F401
        from shop.experiments import outcomes  # noqa: F401
