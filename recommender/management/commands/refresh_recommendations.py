from django.core.management.base import BaseCommand, CommandError

from recommender.models import RefreshRun
from recommender.serving.refresh import REFRESH_CHUNK_USERS
from recommender.tasks import refresh_recommendations


class Command(BaseCommand):
    help = (
        "Recompute every shopper's cached top-K with the active model (fan-out over user ranges)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk-users", type=int, default=REFRESH_CHUNK_USERS)

    def handle(self, *args, **options):
        result = refresh_recommendations.apply(kwargs={"chunk_users": options["chunk_users"]})
        refresh_id = result.get()
        if refresh_id is None:
            raise CommandError("No active model version: train one first (manage.py train).")
        refresh = RefreshRun.objects.get(pk=refresh_id)
        if refresh.finished_at:
            self.stdout.write(
                f"Refreshed {refresh.users} shoppers in {refresh.chunks} chunks at {refresh.users_per_second:.0f} users/s"
            )
        else:
            self.stdout.write(
                f"Refresh {refresh.pk} queued in {refresh.chunks} chunks; workers are writing it."
            )
