"""Authentication backend of the shop."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ShopperBackend(ModelBackend):
    """Django's ModelBackend, loading each request's user with their ShopperProfile.

    Search and recommendations read the shopper's personalization opt-out on every
    request; fetched in the same query as the user (a LEFT JOIN), it costs no cache
    round trip and is never stale (``shop.views.shopper_from_request``).
    """

    def get_user(self, user_id):
        users = get_user_model()._default_manager.select_related("shopper_profile")
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
