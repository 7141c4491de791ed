"""A shopper's data rights: export everything stored about them, delete their account
and data, turn personalization off or on.

The shop knows its own data (the account, the ShopperProfile, the events). Plugins keep
more (the recommender its precomputed recommendations) and the shop never imports
them, so they register a *section* here, usually in their ``AppConfig.ready``::

    privacy_section_register(
        name="recommendations",
        export=lambda user: UserRecommendation.objects.filter(user=user).values().iterator(),
        delete=lambda user: UserRecommendation.objects.filter(user=user).delete()[0],
    )

``export(user)`` yields JSON-serializable rows (DjangoJSONEncoder: dates, decimals and
UUIDs are fine); ``delete(user)`` removes the user's rows and returns how many. Both run
for every export and every deletion, plugin sections before the shop's own rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from shop.models import Event, ShopperProfile
from shop.shoppers import shopper_opt_out_forget

# Events are read from the database this many at a time (server-side cursor on
# Postgres): an export holds one chunk in memory, whatever the shopper's history.
EXPORT_CHUNK_SIZE = 2000
EXPORT_FORMAT = 1
# The shop's own sections; a plugin may not take these names.
SHOP_SECTIONS = ("account", "profile", "events")

ACCOUNT_FIELDS = (
    "id",
    "username",
    "email",
    "first_name",
    "last_name",
    "date_joined",
    "last_login",
    "is_active",
)
EVENT_FIELDS = (
    "id",
    "client_event_id",
    "event_type",
    "product_id",
    "product__sku",
    "session_id",
    "value",
    "query",
    "position",
    "context",
    "source",
    "occurred_at",
    "received_at",
)


@dataclass(frozen=True)
class PrivacySection:
    """A plugin's share of what is stored about a shopper."""

    name: str
    export: Callable[[Any], Iterable[Any]]
    delete: Callable[[Any], int]


_sections: dict[str, PrivacySection] = {}


def privacy_section_register(
    *, name: str, export: Callable[[Any], Iterable[Any]], delete: Callable[[Any], int]
) -> None:
    """Add (or replace) a plugin's section of the export and the deletion."""
    if name in SHOP_SECTIONS:
        raise ValueError(f"{name!r} is one of the shop's own sections")
    _sections[name] = PrivacySection(name, export, delete)


def privacy_section_unregister(*, name: str) -> None:
    _sections.pop(name, None)


def privacy_sections() -> list[PrivacySection]:
    return list(_sections.values())


# ---------------------------------------------------------------------------- export


def shopper_data_export(*, user) -> Iterator[str]:
    """Everything stored about ``user`` as one JSON object, in pieces to stream:
    ``{"format", "account", "profile", "events": [...], <plugin sections>: [...]}``.
    No row cap; events are read in chunks, oldest first."""
    encoder = DjangoJSONEncoder(ensure_ascii=False)
    account = {name: getattr(user, name) for name in ACCOUNT_FIELDS}
    profile = ShopperProfile.objects.filter(user=user).values(
        "personalization_opt_out"
    ).first() or {"personalization_opt_out": False}
    yield (
        f'{{"format": {EXPORT_FORMAT}, "account": {encoder.encode(account)}, '
        f'"profile": {encoder.encode(profile)}'
    )
    events = (
        Event.objects.filter(user=user)
        .order_by("occurred_at", "id")
        .values(*EVENT_FIELDS)
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )
    yield from _json_list("events", (_event_row(row) for row in events), encoder)
    for section in privacy_sections():
        yield from _json_list(section.name, section.export(user), encoder)
    yield "}"


def _event_row(row: dict) -> dict:
    row["sku"] = row.pop("product__sku")
    row["type"] = row.pop("event_type")
    return row


def _json_list(name: str, rows: Iterable[Any], encoder: DjangoJSONEncoder) -> Iterator[str]:
    """``, "name": [row, row, ...]`` in pieces of about EXPORT_CHUNK_SIZE rows."""
    yield f", {encoder.encode(name)}: ["
    batch: list[str] = []
    first = True
    for row in rows:
        batch.append(encoder.encode(row))
        if len(batch) >= EXPORT_CHUNK_SIZE:
            yield ("" if first else ",") + ",".join(batch)
            batch, first = [], False
    if batch:
        yield ("" if first else ",") + ",".join(batch)
    yield "]"


def shopper_data_export_json(*, user) -> dict:
    """The export as a dict (tests, the admin); the API streams ``shopper_data_export``."""
    return json.loads("".join(shopper_data_export(user=user)))


# -------------------------------------------------------------------------- deletion


def shopper_account_delete(*, user) -> dict[str, int]:
    """Delete the shopper's account and everything stored about them, in one
    transaction: every plugin section, their events, their profile, then the user
    (whatever else still references the user goes by the database's cascades). Their
    issued refresh tokens are deleted too. Returns how many rows of each section were
    removed, ``account`` last."""
    removed: dict[str, int] = {}
    user_id = user.pk
    with transaction.atomic():
        for section in privacy_sections():
            removed[section.name] = int(section.delete(user))
        removed["events"] = Event.objects.filter(user_id=user_id).delete()[0]
        removed["profile"] = ShopperProfile.objects.filter(user_id=user_id).delete()[0]
        removed["refresh_tokens"] = _refresh_tokens_delete(user_id=user_id)
        user.delete()
        removed["account"] = 1
        transaction.on_commit(lambda: shopper_opt_out_forget(user_id=user_id), robust=True)
    return removed


def _refresh_tokens_delete(*, user_id: int) -> int:
    """Delete the user's issued refresh tokens (simplejwt's outstanding tokens and their
    blacklist entries): the stored JWTs name the user. None can be refreshed afterwards:
    refreshing refuses a user who no longer exists."""
    tokens = OutstandingToken.objects.filter(user_id=user_id)
    count = tokens.count()
    tokens.delete()
    return count


# ------------------------------------------------------------------ personalization


def shopper_personalization_set(*, user, enabled: bool) -> ShopperProfile:
    """Turn personalization on or off for the shopper (their ShopperProfile; saving it
    forgets the cached opt-out, shop.receivers, and again once committed)."""
    profile, _ = ShopperProfile.objects.update_or_create(
        user=user, defaults={"personalization_opt_out": not enabled}
    )
    transaction.on_commit(lambda: shopper_opt_out_forget(user_id=user.pk), robust=True)
    return profile
