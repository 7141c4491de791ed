"""What the recommender's staff API tests share: clients for users with permissions."""

from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import UserFactory


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff_with(*permissions: str):
    """A staff member holding ``permissions`` ("app.codename") and nothing else."""
    user = UserFactory(is_staff=True)
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user
