"""Helpers shared by the recommender's admin pages."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST


def staff_post_url(model_admin: admin.ModelAdmin, route: str, view, name: str):
    """A POST-only page of ``model_admin``, behind the admin site's login."""
    return path(route, model_admin.admin_site.admin_view(require_POST(view)), name=name)


def rounded(value: float | None, digits: int = 4) -> str:
    """A metric as staff read it (4 decimals), "-" without one."""
    return "-" if value is None else f"{value:.{digits}f}"


def live_link(url_name: str, pk: int) -> str:
    """A link to the object's live page on the training dashboard."""
    return format_html('<a href="{}">watch live</a>', reverse(url_name, args=[pk]))
