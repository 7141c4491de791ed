from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shop import datasets
from shop.importers import import_event_rows, import_product_rows

from ._importing import ErrorReport, progress_rows

FORMATS = ("amazon-beauty", "online-retail")


class Command(BaseCommand):
    help = (
        "Import a public dataset: `amazon-beauty DIR` (items.tsv, interactions.tsv, "
        "sequences.tsv) or `online-retail FILE` (the UCI Online Retail CSV)."
    )

    def add_arguments(self, parser):
        parser.add_argument("dataset", choices=FORMATS)
        parser.add_argument("path")
        parser.add_argument("--errors", metavar="FILE", help="also write each bad row to this CSV")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        path = Path(options["path"])
        if options["dataset"] == "amazon-beauty":
            products, events, names, extra = _amazon_beauty(path)
        else:
            products, events, names, extra = _online_retail(path)
        errors = ErrorReport(options["errors"], stream=self.stderr)
        quiet = options["no_progress"]
        with progress_rows(products, total=0, desc="products", disable=quiet) as rows:
            product_report = import_product_rows(rows, file_name=names[0], on_error=errors)
        self.stdout.write(f"products: {product_report.summary()}")
        with progress_rows(events, total=0, desc="events", disable=quiet) as rows:
            event_report = import_event_rows(rows, file_name=names[1], on_error=errors)
        event_report.extra.update(extra)
        self.stdout.write(f"events: {event_report.summary()}")
        errors.close()
        failed = product_report.failed + event_report.failed
        if failed:
            raise CommandError(f"{failed} row(s) failed; the valid rows were imported.")


def _amazon_beauty(path: Path):
    """(product rows, event rows, the file names they are reported under, extra counts)."""
    for name in ("items.tsv", "interactions.tsv", "sequences.tsv"):
        if not (path / name).is_file():
            raise CommandError(f"{path}: {name} is missing (expected the amazon_beauty format)")
    products = datasets.amazon_beauty_products(path)
    events = datasets.amazon_beauty_events(path)
    return products, events, ("items.tsv", "interactions.tsv"), {}


def _online_retail(path: Path):
    """As _amazon_beauty; ``extra`` counts the cancellations as the events are read."""
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    extra: dict[str, int] = {}
    products = datasets.online_retail_products(path)
    events = datasets.online_retail_events(path, extra)
    return products, events, (path.name, path.name), extra
