from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Cache invalidation on saves; a storefront login joins the anonymous session's
        # events to the shopper.
        # The dashboards' rollups register themselves when their modules load
        # (shop.rollups.rollups_refresh recomputes each).
        from shop import accounts, activity, analytics, receivers  # noqa: F401  # noqa: F401
        from shop.experiments import outcomes  # noqa: F401
