"""How the app authenticates: a JWT access token (``Authorization: Bearer ...``, from
``/api/v1/auth/token/``) or, for the browser, Django's session (with CSRF on unsafe
requests). Anonymous callers may send ``X-Device-Id`` (shop.shoppers)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from shop.auth import user_with_profile


class ShopperJWTAuthentication(JWTAuthentication):
    """simplejwt's authentication, loading the user with their ShopperProfile in one
    query (``shop.auth.user_with_profile``, as sessions do): every personalized request
    reads the opt-out. Access tokens issued before a password change are refused
    (``CHECK_REVOKE_TOKEN``)."""

    def get_user(self, validated_token):
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError):
            raise InvalidToken(_("Token contained no recognizable user identification")) from None
        user = user_with_profile(pk=user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(
                _("The user's password has been changed."), code="password_changed"
            )
        return user


class ShopperJWTScheme(SimpleJWTScheme):
    """The schema's ``jwtAuth`` security scheme for this class (drf-spectacular)."""

    target_class = ShopperJWTAuthentication
