"""The names an event row uses, turned into ids: SKUs into products, external user ids
into users (created, with no usable password, when the caller may create them)."""

from __future__ import annotations

from collections.abc import Collection

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from shop.models import Product

NAME_CHUNK = 2000
# Shoppers known only by an external id cannot log in (Django: "!" marks unusable).
UNUSABLE_PASSWORD = "!imported"


class ProductIds:
    """SKU -> product id, remembered across batches."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def resolve(self, skus: Collection[str]) -> None:
        missing = [s for s in skus if s not in self.ids]
        for i in range(0, len(missing), NAME_CHUNK):
            chunk = missing[i : i + NAME_CHUNK]
            self.ids.update(Product.objects.filter(sku__in=chunk).values_list("sku", "pk"))


class UserIds:
    """External user id (the username) -> user id, remembered across batches; unknown
    ones are created when ``create``."""

    def __init__(self, *, create: bool, known: dict[str, int] | None = None) -> None:
        self.ids: dict[str, int] = dict(known or {})
        self.create = create

    def resolve(self, usernames: Collection[str]) -> None:
        missing = [u for u in usernames if u not in self.ids]
        self.ids.update(_users_by_name(missing))
        new = [u for u in missing if u not in self.ids]
        if new and self.create:
            self.ids.update(_users_create(new))
            # Those another process created in between come back by a lookup.
            self.ids.update(_users_by_name([u for u in new if u not in self.ids]))


def _plain_auth_user() -> bool:
    """Whether raw SQL against auth_user may stand in for the ORM (one statement per
    batch instead of thousands of placeholders or model instances)."""
    return connection.vendor == "postgresql" and get_user_model()._meta.db_table == "auth_user"


def _users_by_name(usernames: list[str]) -> dict[str, int]:
    if not usernames:
        return {}
    if _plain_auth_user():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT username, id FROM auth_user WHERE username = ANY(%s)", [usernames]
            )
            return dict(cursor.fetchall())
    User = get_user_model()
    name = User.USERNAME_FIELD
    found: dict[str, int] = {}
    for i in range(0, len(usernames), NAME_CHUNK):
        chunk = usernames[i : i + NAME_CHUNK]
        found.update(User.objects.filter(**{f"{name}__in": chunk}).values_list(name, "pk"))
    return found


def _users_create(usernames: list[str]) -> dict[str, int]:
    """Create shoppers known only by an external id; returns the ids of those this call
    created (Postgres) or {} (the caller looks them up)."""
    if _plain_auth_user():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO auth_user (username, password, is_superuser, first_name, last_name,"
                " email, is_staff, is_active, date_joined)"
                " SELECT u, %s, false, '', '', '', false, true, %s FROM unnest(%s::text[]) AS u"
                " ON CONFLICT (username) DO NOTHING RETURNING username, id",
                [UNUSABLE_PASSWORD, timezone.now(), usernames],
            )
            return dict(cursor.fetchall())
    User = get_user_model()
    User.objects.bulk_create(
        [User(**{User.USERNAME_FIELD: name}, password=UNUSABLE_PASSWORD) for name in usernames],
        ignore_conflicts=True,
        batch_size=1000,
    )
    return {}
