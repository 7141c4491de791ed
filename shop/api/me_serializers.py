"""Serializers of the signed-in shopper's own endpoints (shop.api.me): the account, the
personalization switch, the deletion and what it removed."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text, as
    the schema's ``type: string`` promises."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class MeSerializer(serializers.ModelSerializer):
    """The signed-in shopper's account. PATCH may change ``email``, ``first_name`` and
    ``last_name``; the other fields are read-only."""

    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    first_name = StrictCharField(required=False, allow_blank=True, max_length=150)
    last_name = StrictCharField(required=False, allow_blank=True, max_length=150)
    personalization_enabled = serializers.SerializerMethodField(
        help_text="False when the shopper opted out: search and recommendations then use "
        "the non-personalized order (POST me/personalization/ changes it)."
    )

    class Meta:
        model = get_user_model()
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "date_joined",
            "personalization_enabled",
        ]
        read_only_fields = ["id", "username", "date_joined", "personalization_enabled"]

    def update(self, instance, validated_data):
        """Writes only the fields sent: a plain save would write back every column of
        the user loaded with the request (its password hash, is_active, ...), undoing a
        password change or a deactivation that landed meanwhile."""
        for name, value in validated_data.items():
            setattr(instance, name, value)
        if validated_data:
            instance.save(update_fields=list(validated_data))
        return instance

    def get_personalization_enabled(self, user) -> bool:
        profile = getattr(user, "shopper_profile", None)
        return not (profile is not None and profile.personalization_opt_out)


class PersonalizationSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(
        help_text="false: opt out of personalization; true: opt back in."
    )


class AccountDeleteSerializer(serializers.Serializer):
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, help_text="The account's current password."
    )


class AccountDeletedSerializer(serializers.Serializer):
    deleted = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Rows removed per kind of data: account, profile, events and any "
        "plugin's (e.g. recommendations).",
    )
