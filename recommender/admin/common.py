"""Helpers shared by the recommender's admin pages."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path
from django.views.decorators.http import require_POST


def staff_post_url(model_admin: admin.ModelAdmin, route: str, view, name: str):
    """A POST-only page of ``model_admin``, behind the admin site's login."""
    return path(route, model_admin.admin_site.admin_view(require_POST(view)), name=name)
