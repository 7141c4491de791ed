from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Cache invalidation on saves; a storefront login joins the anonymous session's
        # events to the shopper.
        from shop import accounts, receivers  # noqa: F401
