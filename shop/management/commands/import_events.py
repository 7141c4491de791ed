from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shop.importers import check_columns, import_event_rows, read_rows, zone

from ._importing import ErrorReport, add_common_arguments, count_lines, finish, progress_rows


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
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        missing = check_columns(path, ["type", "occurred_at"], fmt=options["format"])
        if missing:
            raise CommandError(f"{path.name}: missing required column(s): {', '.join(missing)}")
        try:
            tz = zone(options["timezone"])
        except Exception:
            raise CommandError(f"unknown time zone {options['timezone']!r}") from None
        errors = ErrorReport(options["errors"], stream=self.stderr)
        with progress_rows(
            read_rows(path, fmt=options["format"]),
            total=count_lines(path),
            desc="events",
            disable=options["no_progress"],
        ) as rows:
            report = import_event_rows(
                rows,
                file_name=path.name,
                on_error=errors,
                default_source=options["source"],
                default_tz=tz,
            )
        finish(self, report, errors, "events")
