"""The dashboards' navigation: each page registers itself (label, URL name, the
permission it needs); a staff user sees the pages their permissions open. The
recommender registers its pages when it is installed, so the shop's list never names
them."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class DashboardPage:
    label: str
    url_name: str  # in the "dashboards" namespace
    permission: str  # "app.codename"
    order: int
    description: str = ""


_PAGES: dict[str, DashboardPage] = {}


def dashboard_register(page: DashboardPage) -> DashboardPage:
    _PAGES[page.url_name] = page
    return page


def dashboard_pages(user) -> list[tuple[DashboardPage, str]]:
    """(page, its URL) for each registered page the user may open, in order."""
    visible = []
    for page in sorted(_PAGES.values(), key=lambda p: (p.order, p.label)):
        if not user.has_perm(page.permission):
            continue
        try:
            visible.append((page, reverse(f"dashboards:{page.url_name}")))
        except NoReverseMatch:  # registered, but its URLs are not mounted
            continue
    return visible
