from django.core.management.base import BaseCommand

from shop.importers import import_product_rows

from ._importing import add_common_arguments, checked_file, import_file


class Command(BaseCommand):
    help = (
        "Import or update products (upsert by SKU) from CSV/TSV/JSON lines. See README for columns."
    )

    def add_arguments(self, parser):
        add_common_arguments(parser)

    def handle(self, *args, **options):
        path = checked_file(options["file"], ["sku", "title"], fmt=options["format"])
        import_file(self, options, path=path, what="products", importer=import_product_rows)
