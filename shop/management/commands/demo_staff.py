from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string


class Command(BaseCommand):
    help = "Create (or reset) the demo staff account and print its credentials."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="staff")
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/admin/", help="where the admin is served"
        )

    def handle(self, *args, **options):
        User = get_user_model()
        password = get_random_string(16)
        user, _ = User.objects.get_or_create(username=options["username"])
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Staff account: username={user.username} password={password} "
                f"(admin at {options['url']})"
            )
        )
