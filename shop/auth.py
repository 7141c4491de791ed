"""Authentication backend of the shop."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied


class ShopperBackend(ModelBackend):
    """Django's ModelBackend, loading each request's user with their ShopperProfile.

    Search and recommendations read the shopper's personalization opt-out on every
    request; fetched in the same query as the user (a LEFT JOIN), it costs no cache
    round trip and is never stale (``shop.views.shopper_from_request``).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and username is not None and password is not None:
            # Django's ModelBackend follows in AUTHENTICATION_BACKENDS (for sessions it
            # created); asked again it would hash the same wrong password a second time.
            raise PermissionDenied
        return user

    def get_user(self, user_id):
        users = get_user_model()._default_manager.select_related("shopper_profile")
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
