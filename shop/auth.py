"""Authentication backend of the shop."""

from __future__ import annotations

from typing import NamedTuple
from weakref import WeakKeyDictionary

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import connections, router

from shop.models import ShopperProfile

_PROFILE_ATTNAMES = [f.attname for f in ShopperProfile._meta.concrete_fields]
_PROFILE_USER = ShopperProfile._meta.get_field("user")
# The user's side of that one-to-one (``user.shopper_profile``), whose cached value
# user_with_profile sets: views read the opt-out from it without a query.
USER_PROFILE = _PROFILE_USER.remote_field


class ShopperBackend(ModelBackend):
    """Django's ModelBackend, loading each request's user with their ShopperProfile.

    Search and recommendations read the shopper's personalization opt-out on every
    request; fetched in the same query as the user (a LEFT JOIN), it costs no cache
    round trip and is never stale (``shop.shoppers.shopper_from_request``).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and username is not None and password is not None:
            # Django's ModelBackend follows in AUTHENTICATION_BACKENDS (for sessions it
            # created); asked again it would hash the same wrong password a second time.
            raise PermissionDenied
        return user

    def get_user(self, user_id):
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        user = user_with_profile(pk=pk)
        return user if user is not None and self.user_can_authenticate(user) else None


class _UserStatement(NamedTuple):
    """The compiled SQL of ``select_related("shopper_profile").get(pk=...)``, the user's
    columns in its rows, and the converters its values need on this connection."""

    sql: str
    user_attnames: list[str]
    converters: list[tuple]


# Per database connection (each thread has its own), compiled on first use.
_user_statements: WeakKeyDictionary = WeakKeyDictionary()


def user_with_profile(*, pk: int):
    """The user with this id, their ``shopper_profile`` already attached (or known to be
    missing), as ``select_related("shopper_profile").get(pk=pk)`` returns it; None
    when there is no such user.

    Every request of a logged-in shopper runs this, so the ORM's statement is compiled
    once per connection, not per request.
    """
    user_model = get_user_model()
    alias = router.db_for_read(user_model)
    connection = connections[alias]
    statement = _user_statements.get(connection)
    if statement is None:
        statement = _user_statements[connection] = _compile_user_statement(user_model, alias)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    return _user_from_row(user_model, alias, statement, _converted(row, statement, connection))


def _compile_user_statement(user_model, alias: str) -> _UserStatement:
    query = user_model._default_manager.select_related("shopper_profile").filter(pk=0).query
    compiler = query.get_compiler(alias)
    sql, _ = compiler.as_sql()
    converters = compiler.get_converters([column for column, _, _ in compiler.select])
    attnames = [f.attname for f in user_model._meta.concrete_fields]
    return _UserStatement(sql, attnames, list(converters.items()))


def _converted(row: tuple, statement: _UserStatement, connection) -> tuple | list:
    """The row's values as the ORM converts them (e.g. timezones on SQLite)."""
    if not statement.converters:
        return row
    row = list(row)
    for position, (functions, expression) in statement.converters:
        for function in functions:
            row[position] = function(row[position], expression, connection)
    return row


def _user_from_row(user_model, alias: str, statement: _UserStatement, row):
    """The instances select_related builds: the user, with the profile (or None) cached."""
    width = len(statement.user_attnames)
    user = user_model.from_db(alias, statement.user_attnames, row[:width])
    profile = None
    if row[width] is not None:
        profile = ShopperProfile.from_db(alias, _PROFILE_ATTNAMES, row[width:])
        _PROFILE_USER.set_cached_value(profile, user)
    USER_PROFILE.set_cached_value(user, profile)
    return user
