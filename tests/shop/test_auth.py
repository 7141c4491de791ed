"""The shop's authentication backend: each request's user, loaded with the profile."""

import pytest
from django.contrib.auth import get_user_model

from shop.auth import ShopperBackend, user_with_profile
from shop.models import ShopperProfile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_the_user_is_the_one_select_related_builds(django_assert_num_queries):
    user = UserFactory(first_name="Ada", email="ada@example.com")
    ShopperProfile.objects.create(user=user, personalization_opt_out=True)
    expected = get_user_model().objects.select_related("shopper_profile").get(pk=user.pk)
    with django_assert_num_queries(1):
        loaded = user_with_profile(pk=user.pk)
        assert type(loaded) is type(expected)
        assert _fields(loaded) == _fields(expected)
        assert _fields(loaded.shopper_profile) == _fields(expected.shopper_profile)
        assert loaded.shopper_profile.personalization_opt_out is True
        assert loaded.shopper_profile.user is loaded
    assert loaded._state.adding is False and loaded._state.db == "default"
    assert loaded.shopper_profile._state.adding is False


def test_a_missing_profile_is_known_without_another_query(django_assert_num_queries):
    user = UserFactory()
    with django_assert_num_queries(1):
        loaded = user_with_profile(pk=user.pk)
        with pytest.raises(ShopperProfile.DoesNotExist):
            loaded.shopper_profile  # noqa: B018


def test_unknown_and_inactive_users_are_nobody():
    assert user_with_profile(pk=987654) is None
    backend = ShopperBackend()
    user = UserFactory(is_active=False)
    assert backend.get_user(user.pk) is None
    assert backend.get_user("not-a-number") is None
    assert backend.get_user(None) is None
    active = UserFactory()
    assert backend.get_user(str(active.pk)).pk == active.pk


def test_a_logged_in_shopper_is_served_and_saving_the_user_still_works(client):
    user = UserFactory()
    client.force_login(user)
    response = client.get("/api/v1/me/events/")
    assert response.status_code == 200
    loaded = user_with_profile(pk=user.pk)
    loaded.first_name = "Grace"
    loaded.save()
    assert get_user_model().objects.get(pk=user.pk).first_name == "Grace"


def test_a_wrong_password_is_checked_once(client, monkeypatch):
    from django.contrib.auth.backends import ModelBackend

    calls = []
    checked = ModelBackend.authenticate

    def counting(self, *args, **kwargs):
        calls.append(type(self).__name__)
        return checked(self, *args, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counting)
    user = UserFactory()
    user.set_password("right-one")
    user.save()
    assert not client.login(username=user.username, password="wrong")
    assert calls == ["ShopperBackend"]  # Django's ModelBackend is not asked again
    assert client.login(username=user.username, password="right-one")
