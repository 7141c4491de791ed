from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DEMO_DIR = Path(settings.BASE_DIR) / "data" / "demo"


class Command(BaseCommand):
    help = "Load the shipped demo data (a real Amazon Beauty subset). Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        if not (DEMO_DIR / "items.tsv").is_file():
            raise CommandError(f"{DEMO_DIR}: the demo data is missing")
        call_command(
            "import_dataset",
            "amazon-beauty",
            str(DEMO_DIR),
            no_progress=options["no_progress"],
            stdout=self.stdout,
            stderr=self.stderr,
        )
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
