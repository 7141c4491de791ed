"""shop.privacy: the export and deletion of a shopper's data, and the plugin sections."""

import json

import pytest
from django.contrib.auth import get_user_model

from shop import privacy
from shop.models import Event, ShopperProfile
from tests.factories import EventFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def section():
    """A plugin section over a dict of rows per user id; cleaned up after the test."""
    rows = {}
    privacy.privacy_section_register(
        name="plugin_rows",
        export=lambda user: iter(rows.get(user.pk, [])),
        delete=lambda user: len(rows.pop(user.pk, [])),
    )
    yield rows
    privacy.privacy_section_unregister(name="plugin_rows")


def test_a_plugin_cannot_take_the_shops_own_section_names():
    for name in privacy.SHOP_SECTIONS:
        with pytest.raises(ValueError, match="shop's own"):
            privacy.privacy_section_register(name=name, export=list, delete=len)
    assert not set(privacy.SHOP_SECTIONS) & {s.name for s in privacy.privacy_sections()}


def test_export_is_valid_json_in_chunks_with_every_event_and_plugin_row(monkeypatch, section):
    monkeypatch.setattr(privacy, "EXPORT_CHUNK_SIZE", 4)
    user = UserFactory(first_name="Ünï", email="u@example.com")
    events = EventFactory.create_batch(9, user=user, context={"text": "口红 💄"})
    section[user.pk] = [{"n": n} for n in range(5)]

    pieces = list(privacy.shopper_data_export(user=user))
    data = json.loads("".join(pieces))

    assert len(pieces) >= 8  # 9 events in chunks of 4, 5 plugin rows in chunks of 4
    assert data["format"] == privacy.EXPORT_FORMAT
    assert data["account"]["first_name"] == "Ünï"
    assert data["profile"] == {"personalization_opt_out": False}
    assert sorted(e["id"] for e in data["events"]) == sorted(e.pk for e in events)
    assert data["events"][0]["context"] == {"text": "口红 💄"}
    assert data["plugin_rows"] == section[user.pk]


def test_export_of_a_shopper_without_events(section):
    data = privacy.shopper_data_export_json(user=UserFactory())

    assert data["events"] == [] and data["plugin_rows"] == []


def test_delete_counts_what_it_removed_and_leaves_others_alone(section):
    user, other = UserFactory(), UserFactory()
    ShopperProfile.objects.create(user=user, personalization_opt_out=True)
    EventFactory.create_batch(4, user=user)
    EventFactory(user=other)
    section[user.pk] = [1, 2]
    section[other.pk] = [3]

    removed = privacy.shopper_account_delete(user=user)

    # (Installed plugins, e.g. the recommender, add their own sections beside these.)
    assert (
        removed.items()
        >= {
            "plugin_rows": 2,
            "events": 4,
            "profile": 1,
            "refresh_tokens": 0,
            "account": 1,
        }.items()
    )
    assert list(removed)[-1] == "account"
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert Event.objects.count() == 1 and section == {other.pk: [3]}


def test_delete_is_all_or_nothing(section):
    user = UserFactory()
    EventFactory.create_batch(2, user=user)

    def broken(user):
        raise RuntimeError("plugin down")

    privacy.privacy_section_register(name="broken", export=list, delete=broken)
    try:
        with pytest.raises(RuntimeError):
            privacy.shopper_account_delete(user=user)
    finally:
        privacy.privacy_section_unregister(name="broken")

    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert Event.objects.filter(user=user).count() == 2


def test_personalization_set_writes_the_profile(django_capture_on_commit_callbacks):
    user = UserFactory()

    with django_capture_on_commit_callbacks(execute=True):
        profile = privacy.shopper_personalization_set(user=user, enabled=False)

    assert profile.personalization_opt_out is True
    assert ShopperProfile.objects.get(user=user).personalization_opt_out is True
    privacy.shopper_personalization_set(user=user, enabled=True)
    assert ShopperProfile.objects.get(user=user).personalization_opt_out is False
