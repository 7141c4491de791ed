from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Recommender"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects to the shop's signals; adds the shopper's cached top-K to their export
        # and deletion.
        from recommender import experiments, privacy, receivers  # noqa: F401

        privacy.register()
