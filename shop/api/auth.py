"""API v1: the app's sign-up, token sign-in, refresh, sign-out and password change."""

from __future__ import annotations

urlpatterns: list = []
