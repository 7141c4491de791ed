"""What the personalization interface tells staff tools: ``describe`` (optional, nothing
by default) and ``component_labels``, both guarded like every other answer."""

from __future__ import annotations

import logging

import pytest

from shop.personalization import DefaultPersonalizer, SafePersonalizer, get_personalizer
from shop.shoppers import Shopper

SHOPPER = Shopper(user_id=1)


class Describing(DefaultPersonalizer):
    name = "describing"
    component_labels = {"taste": ("Taste", "How much they like it."), "text": ("Words", "...")}

    def describe(self, *, shopper):
        return {"Segment": "hot", "Events": 12}


class FailingToDescribe(DefaultPersonalizer):
    name = "failing"

    def describe(self, *, shopper):
        raise RuntimeError("cannot describe")


def test_a_personalizer_describes_nothing_by_default():
    assert DefaultPersonalizer().describe(shopper=SHOPPER) == {}
    assert SafePersonalizer(None, DefaultPersonalizer()).describe(shopper=SHOPPER) == {}


def test_a_plugins_description_reaches_staff_as_text():
    safe = SafePersonalizer(Describing(), DefaultPersonalizer())

    assert safe.describe(shopper=SHOPPER) == {"Segment": "hot", "Events": "12"}


def test_a_failing_description_is_logged_and_empty(caplog):
    safe = SafePersonalizer(FailingToDescribe(), DefaultPersonalizer())

    with caplog.at_level(logging.ERROR, logger="shop.personalization"):
        assert safe.describe(shopper=SHOPPER) == {}

    assert "Personalizer FailingToDescribe.describe failed" in caplog.messages


def test_a_plugins_component_labels_extend_and_override_the_defaults():
    labels = SafePersonalizer(Describing(), DefaultPersonalizer()).component_labels

    assert labels["taste"] == ("Taste", "How much they like it.")
    assert labels["text"] == ("Words", "...")
    assert labels["popularity"][0] == "Popularity"


@pytest.mark.django_db
def test_the_configured_personalizer_is_asked(settings):
    settings.SHOP_PERSONALIZER = f"{__name__}.Describing"

    assert get_personalizer().describe(shopper=SHOPPER)["Segment"] == "hot"
