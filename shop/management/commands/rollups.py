"""Bring the dashboards' rollups up to date: ``manage.py rollups`` recomputes the days
new events fell on (what the Celery task does every 10 minutes); ``--full`` recomputes
every day with events (up to shop.rollups.MAX_BACKFILL_DAYS back), e.g. after a large
import or to recount events claimed at sign-in."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from shop.rollups import registered_rollups, rollups_refresh


class Command(BaseCommand):
    help = "Refresh the staff dashboards' rollups (--full: recompute every day)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--full",
            action="store_true",
            help="Recompute every day with events, not only the days of new events.",
        )

    def handle(self, *args, full: bool = False, **options) -> None:
        if not registered_rollups():
            raise CommandError("No rollup is registered (is the shop app installed?).")
        try:
            done = rollups_refresh(full=full)
        except DatabaseError as error:
            raise CommandError(f"The rollups could not be refreshed: {error}") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(done['rollups'])} rollup(s) ({', '.join(done['rollups'])}): "
                f"{done['days']} day(s) recomputed in {done['seconds']:.1f} s."
            )
        )
