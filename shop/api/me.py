"""API v1: the signed-in shopper's own data: profile, personalization opt-out, recently
viewed, export and deletion."""

from __future__ import annotations

urlpatterns: list = []
