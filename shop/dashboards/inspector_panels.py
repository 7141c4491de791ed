"""Extension point of the shopper inspector: more panels about the shopper.

An app registers a panel at import time (its AppConfig.ready)::

    inspector_panel_register(InspectorPanel(
        key="churn", title="Churn risk", order=10,
        template="admin/dashboards/inspector_churn.html",
        context=lambda *, shopper: {"risk": churn_risk(shopper)},
    ))

The inspector renders each registered panel the staff user may see, with the context
it returns for the shopper (a ``shop.shoppers.Shopper``, opt-out included). A panel
that fails shows an error in its box; the rest of the page stands.

``PLANNED`` names the panels later work adds (churn risk, predicted ratings, ads):
until one with that key is registered, the page shows an empty, marked slot for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string

from shop.shoppers import Shopper

logger = logging.getLogger(__name__)

# (key, title, what will fill it): slots kept on the page until a panel takes the key.
PLANNED = (
    ("churn", "Churn risk", "the shopper's risk of not coming back"),
    ("ratings", "Predicted ratings", "the ratings the model predicts for products"),
    ("ads", "Ads", "the ads this shopper would be shown, and why"),
)


@dataclass(frozen=True)
class InspectorPanel:
    key: str
    title: str
    order: int
    template: str
    # Keyword ``shopper``; returns the template's context.
    context: Callable[..., dict]
    permission: str = ""  # "app.codename", beyond the inspector's own


@dataclass(frozen=True)
class RenderedPanel:
    key: str
    title: str
    html: str = ""
    error: str = ""
    planned: str = ""  # for an empty slot: what will fill it


_PANELS: dict[str, InspectorPanel] = {}


def inspector_panel_register(panel: InspectorPanel) -> InspectorPanel:
    _PANELS[panel.key] = panel
    return panel


def inspector_panel_unregister(key: str) -> None:
    _PANELS.pop(key, None)


def inspector_panels_render(*, request: HttpRequest, shopper: Shopper) -> list[RenderedPanel]:
    """The registered panels the user may see, in order, then the empty planned slots."""
    rendered = []
    for panel in sorted(_PANELS.values(), key=lambda p: (p.order, p.key)):
        if panel.permission and not request.user.has_perm(panel.permission):
            continue
        try:
            html = render_to_string(panel.template, panel.context(shopper=shopper), request)
        except Exception as error:
            logger.exception("Inspector panel %s failed", panel.key)
            rendered.append(RenderedPanel(panel.key, panel.title, error=type(error).__name__))
            continue
        rendered.append(RenderedPanel(panel.key, panel.title, html=html))
    rendered += [
        RenderedPanel(key, title, planned=what)
        for key, title, what in PLANNED
        if key not in _PANELS
    ]
    return rendered
