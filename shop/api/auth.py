"""API v1: the app's sign-up, token sign-in, refresh, sign-out and password change.

Tokens are djangorestframework-simplejwt's (SIMPLE_JWT in config.settings): a short-lived
access token and a refresh token that is rotated on use (the used one is blacklisted).
Sign-out blacklists the refresh token it is given; a password change revokes the
earlier access tokens (they carry a hash of the old password, CHECK_REVOKE_TOKEN) and
blacklists every outstanding refresh token, and answers a fresh pair.

Sign-up, sign-in and password change are throttled per client IP (``AuthRateThrottle``,
10/min by default, API_RATE_AUTH) against password guessing. Sign-up and sign-in with
``X-Device-Id`` join the device's anonymous events to the account
(``shop.accounts.shopper_claim_device``).

The business rules live in ``shop.accounts``; these views parse, call it, and answer.
"""

from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.models import update_last_login
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import (
    PasswordField,
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from shop.accounts import shopper_claim_device, shopper_password_change, shopper_sign_up
from shop.api.base import ApiView, CounterRateThrottle, FailOpenThrottleMixin, V1Defaults
from shop.api.serializers import ErrorSerializer
from shop.auth import user_with_profile
from shop.orders import cart_claim
from shop.shoppers import (
    DEVICE_HEADER,
    DEVICE_ID_PATTERN,
    DEVICE_ID_RULE,
    device_session_from_request,
)

# ----------------------------------------------------------------------------- throttle


class AuthRateThrottle(FailOpenThrottleMixin, CounterRateThrottle):
    """Strict and per client IP whoever is asking (signed in or not): sign-up, sign-in
    and password change share one count, against password guessing and sign-up floods."""

    scope = "api_v1_auth"
    default_rate = "10/min"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


# ----------------------------------------------------------------------------- helpers


def _api_validation_error(invalid: DjangoValidationError) -> ValidationError:
    return ValidationError(
        invalid.message_dict if hasattr(invalid, "error_dict") else invalid.messages
    )


def _token_pair(user) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


# ------------------------------------------------------------------------- serializers


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(
        help_text="For /auth/token/refresh/ and /auth/sign-out/; keep it secret."
    )


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)


class SignUpSerializer(serializers.Serializer):
    username = serializers.CharField(
        max_length=150, help_text="Letters, digits and @/./+/-/_ only; must be free."
    )
    email = serializers.EmailField()
    password = PasswordField(trim_whitespace=False, help_text="Django's password rules.")


class SignUpResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class SignInSerializer(TokenObtainPairSerializer):
    """simplejwt's pair serializer; ``user`` is set once the credentials are valid."""


class SignInRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = PasswordField(trim_whitespace=False)


class RefreshRequestSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class RotatingRefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh (rotation, the used token blacklisted), refusing tokens of a
    shopper who was deleted (simplejwt answers a 500 there) or deactivated, or who changed
    their password since (as access tokens are, CHECK_REVOKE_TOKEN)."""

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])
        try:
            user_id = int(refresh.payload.get(jwt_settings.USER_ID_CLAIM))
        except (TypeError, ValueError):
            raise InvalidToken("Token contained no recognizable user identification") from None
        user = user_with_profile(pk=user_id)
        if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
            raise InvalidToken(self.error_messages["no_active_account"], "no_active_account")
        if jwt_settings.CHECK_REVOKE_TOKEN and refresh.payload.get(
            jwt_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise InvalidToken("The user's password has been changed.", "password_changed")
        return super().validate(attrs)


class PasswordChangeSerializer(serializers.Serializer):
    old_password = PasswordField(trim_whitespace=False)
    new_password = PasswordField(trim_whitespace=False, help_text="Django's password rules.")


# ------------------------------------------------------------------------------ schema

DEVICE_PARAMETER = OpenApiParameter(
    DEVICE_HEADER,
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    pattern=f"^({DEVICE_ID_PATTERN})?$",  # empty: no device
    description=f"The app's device id ({DEVICE_ID_RULE}) for shoppers not signed in: "
    "their events and personalization follow it, and signing in with it joins the "
    "device's history to the account. Browsers do not send it.",
)
ACCESS_EXAMPLE = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbg"
REFRESH_EXAMPLE = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbg"
PAIR_EXAMPLE = OpenApiExample(
    "Token pair",
    value={"access": ACCESS_EXAMPLE, "refresh": REFRESH_EXAMPLE},
    response_only=True,
)
REFRESH_REQUEST_EXAMPLE = OpenApiExample(
    "A refresh token", value={"refresh": REFRESH_EXAMPLE}, request_only=True
)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


INVALID_INPUT = _error("Invalid input: `details` names each field at fault.")
THROTTLED = _error("Too many requests from this caller or address; see `Retry-After`.")
TOKEN_REFUSED = _error(
    "`token_not_valid` (malformed, expired or blacklisted), `no_active_account` (the "
    "shopper was deleted or deactivated) or `password_changed`."
)
NOT_SIGNED_IN = _error("Not signed in (`not_authenticated`) or an invalid access token.")
CSRF_REFUSED = _error("A session-authenticated call without its CSRF token.")

# ------------------------------------------------------------------------------- views


class SignUpView(ApiView):
    """Create a shopper account and sign it in: the answer has the new user and an
    access + refresh token pair. The username must be free; the password passes Django's
    validators (length, not common, not all digits, not like the username or email);
    every field at fault is named in one 400. With ``X-Device-Id`` the device's anonymous
    events become the new shopper's."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        summary="Sign up",
        parameters=[DEVICE_PARAMETER],
        request=SignUpSerializer,
        responses={
            201: SignUpResponseSerializer,
            400: INVALID_INPUT,
            429: THROTTLED,
        },
        examples=[
            OpenApiExample(
                "New shopper",
                value={"username": "ada", "email": "ada@example.com", "password": "w1nter-tulip"},
                request_only=True,
            ),
            OpenApiExample(
                "Signed up",
                value={
                    "user": {"id": 42, "username": "ada", "email": "ada@example.com"},
                    "access": ACCESS_EXAMPLE,
                    "refresh": REFRESH_EXAMPLE,
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        session_id = device_session_from_request(request)
        data = _valid(SignUpSerializer, request)
        try:
            user = shopper_sign_up(**data)
        except DjangoValidationError as invalid:
            raise _api_validation_error(invalid) from None
        shopper_claim_device(user_id=user.pk, session_id=session_id)
        cart_claim(user_id=user.pk, session_id=session_id)
        update_last_login(None, user)
        body = {"user": UserSerializer(user).data, **_token_pair(user)}
        return Response(body, status=status.HTTP_201_CREATED)


class SignInView(V1Defaults, TokenObtainPairView):
    """Sign in with a username and password: an access token (15 minutes) and a refresh
    token (30 days). Wrong credentials, or an inactive account, are a 401
    ``no_active_account``. With ``X-Device-Id`` the device's anonymous events join the
    shopper's history (and their recommendations are re-scored)."""

    serializer_class = SignInSerializer
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        summary="Sign in (token pair)",
        parameters=[DEVICE_PARAMETER],
        request=SignInRequestSerializer,
        responses={
            200: TokenPairSerializer,
            400: INVALID_INPUT,
            401: _error("`no_active_account`: wrong username or password, or inactive."),
            429: THROTTLED,
        },
        examples=[
            OpenApiExample(
                "Credentials",
                value={"username": "ada", "password": "w1nter-tulip"},
                request_only=True,
            ),
            PAIR_EXAMPLE,
        ],
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        session_id = device_session_from_request(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shopper_claim_device(user_id=serializer.user.pk, session_id=session_id)
        cart_claim(user_id=serializer.user.pk, session_id=session_id)
        return Response(serializer.validated_data, status=status.HTTP_200_OK)


class TokenRefreshV1View(V1Defaults, TokenRefreshView):
    """A new token pair for a refresh token. The refresh token is rotated: the one sent is
    blacklisted and cannot be used again. Refused (401) when it is malformed, expired or
    blacklisted, when the shopper is gone or inactive, or changed their password since."""

    serializer_class = RotatingRefreshSerializer
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Refresh the token pair",
        request=RefreshRequestSerializer,
        responses={
            200: TokenPairSerializer,
            400: INVALID_INPUT,
            401: TOKEN_REFUSED,
            429: THROTTLED,
        },
        examples=[REFRESH_REQUEST_EXAMPLE, PAIR_EXAMPLE],
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)


class SignOutView(ApiView):
    """Sign out: the refresh token sent is blacklisted, so it can no longer be refreshed.
    The access token in use stays valid until it expires (at most 15 minutes); the app
    forgets it. Only the caller's own refresh token is accepted."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Sign out (revoke a refresh token)",
        request=RefreshRequestSerializer,
        responses={
            204: OpenApiResponse(description="Signed out."),
            400: _error(
                "No refresh token, or one that is invalid, expired, revoked or not the caller's."
            ),
            401: NOT_SIGNED_IN,
            403: CSRF_REFUSED,
            429: THROTTLED,
        },
        examples=[REFRESH_REQUEST_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        raw = _valid(RefreshRequestSerializer, request)["refresh"]
        try:
            refresh = RefreshToken(raw)
        except TokenError as invalid:
            raise ValidationError({"refresh": [str(invalid)]}) from None
        if str(refresh.payload.get(jwt_settings.USER_ID_CLAIM)) != str(request.user.pk):
            raise ValidationError({"refresh": ["This refresh token is not the caller's."]})
        refresh.blacklist()
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(ApiView):
    """Change the password: the old one must be right and the new one pass Django's
    validators. Every access token issued before stops working and every refresh token
    is revoked (other devices are signed out); the answer is a fresh pair for this
    device. A browser session stays signed in."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        summary="Change the password",
        request=PasswordChangeSerializer,
        responses={
            200: TokenPairSerializer,
            400: INVALID_INPUT,
            401: NOT_SIGNED_IN,
            403: CSRF_REFUSED,
            429: THROTTLED,
        },
        examples=[
            OpenApiExample(
                "Old and new password",
                value={"old_password": "w1nter-tulip", "new_password": "summer-orchid-7"},
                request_only=True,
            ),
            PAIR_EXAMPLE,
        ],
    )
    def post(self, request: Request) -> Response:
        data = _valid(PasswordChangeSerializer, request)
        user = request.user
        try:
            shopper_password_change(user=user, **data)
        except DjangoValidationError as invalid:
            raise _api_validation_error(invalid) from None
        if isinstance(request.successful_authenticator, SessionAuthentication):
            update_session_auth_hash(request, user)  # the browser stays signed in
        return Response(_token_pair(user))


def _valid(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


urlpatterns = [
    path("auth/sign-up/", SignUpView.as_view(), name="auth-sign-up"),
    path("auth/token/", SignInView.as_view(), name="auth-token"),
    path("auth/token/refresh/", TokenRefreshV1View.as_view(), name="auth-token-refresh"),
    path("auth/sign-out/", SignOutView.as_view(), name="auth-sign-out"),
    path("auth/password/", PasswordChangeView.as_view(), name="auth-password"),
]
