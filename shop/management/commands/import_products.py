from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shop.importers import check_columns, import_product_rows, read_rows

from ._importing import ErrorReport, add_common_arguments, count_lines, finish, progress_rows


class Command(BaseCommand):
    help = (
        "Import or update products (upsert by SKU) from CSV/TSV/JSON lines. See README for columns."
    )

    def add_arguments(self, parser):
        add_common_arguments(parser)

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        missing = check_columns(path, ["sku", "title"], fmt=options["format"])
        if missing:
            raise CommandError(f"{path.name}: missing required column(s): {', '.join(missing)}")
        errors = ErrorReport(options["errors"], stream=self.stderr)
        with progress_rows(
            read_rows(path, fmt=options["format"]),
            total=count_lines(path),
            desc="products",
            disable=options["no_progress"],
        ) as rows:
            report = import_product_rows(rows, file_name=path.name, on_error=errors)
        finish(self, report, errors, "products")
