from functools import partial

from django.core.management.base import BaseCommand, CommandError

from shop.importers import import_event_rows, zone

from ._importing import add_common_arguments, checked_file, import_file


class Command(BaseCommand):
    help = "Import behaviour events (idempotent) from CSV/TSV/JSON lines. See README for columns."

    def add_arguments(self, parser):
        add_common_arguments(parser)
        parser.add_argument("--source", default="import", help="source name for rows without one")
        parser.add_argument(
            "--timezone",
            default="UTC",
            help="IANA zone of timestamps without an offset (default UTC)",
        )

    def handle(self, *args, **options):
        path = checked_file(options["file"], ["type", "occurred_at"], fmt=options["format"])
        try:
            tz = zone(options["timezone"])
        except Exception:
            raise CommandError(f"unknown time zone {options['timezone']!r}") from None
        importer = partial(import_event_rows, default_source=options["source"], default_tz=tz)
        import_file(self, options, path=path, what="events", importer=importer)
