"""API v1, staff: search analytics and a shopper's recommendations and history for
support. Each endpoint checks its Django permission."""

from __future__ import annotations

urlpatterns: list = []
