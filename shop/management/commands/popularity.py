"""Recompute products' popularity and trending figures from the event log:
``manage.py popularity`` does what the Celery task does every 10 minutes (the products
of new events, or every product when the newest event's day moved on); ``--full``
recomputes every product, e.g. after deleting events."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from shop.popularity import popularity_refresh


class Command(BaseCommand):
    help = "Refresh products' popularity and trending figures (--full: every product)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--full", action="store_true", help="Recompute every product.")

    def handle(self, *args, full: bool = False, **options) -> None:
        try:
            done = popularity_refresh(full=full)
        except DatabaseError as error:
            raise CommandError(f"Popularity could not be refreshed: {error}") from error
        if done["skipped"]:
            self.stdout.write("Another popularity refresh is running: nothing done.")
            return
        scope = "every product" if done["full"] else f"{done['products']} product(s)"
        self.stdout.write(
            self.style.SUCCESS(
                f"Popularity: {scope} recomputed, {done['written']} changed,"
                f" in {done['seconds']:.1f} s."
            )
        )
