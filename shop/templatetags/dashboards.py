"""``{% dashboard_links as pages %}``: the dashboards the signed-in user may open, for
pages outside the dashboards (the admin's index)."""

from django import template

from shop.dashboards.nav import dashboard_pages

register = template.Library()


@register.simple_tag(takes_context=True)
def dashboard_links(context) -> list:
    request = context.get("request")
    return dashboard_pages(request.user) if request is not None else []
