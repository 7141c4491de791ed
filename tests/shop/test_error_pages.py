"""Production error pages (DEBUG off, as in the test settings): the storefront's 404 and
500 in the shop's look, the API's JSON shape under /api/, and the favicon."""

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import OperationalError, connection
from django.http import HttpResponse
from django.template import engines
from django.templatetags.static import static
from django.test import Client, override_settings
from django.urls import path, reverse

from config import urls as project_urls
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

SHOP_CSS = "shop/shop.css"
FAVICON = "shop/favicon.svg"
TEMPLATE_500 = Path(settings.BASE_DIR) / "templates" / "500.html"


def _broken_page(request):
    raise RuntimeError("secret detail of the failure")


def _working_page(request):
    return HttpResponse("ok")


# The project's URLconf and error handlers, plus a page that fails on each side of /api/.
urlpatterns = [
    path("broken/", _broken_page),
    path("api/v1/broken-plain/", _broken_page),
    *project_urls.urlpatterns,
]
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@pytest.fixture
def failing_client():
    """A client that gets the 500 answer instead of the view's exception re-raised."""
    return Client(raise_request_exception=False)


def _assert_shop_page(response):
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert static(SHOP_CSS) in body
    assert f'href="{reverse("shop:home")}"' in body
    return body


def _search_form_of(body: str) -> str:
    match = re.search(r'<form role="search" aria-label="Search the shop".*?</form>', body, re.S)
    assert match, "the page offers its own search form"
    return match.group(0)


def test_debug_is_off_so_the_production_pages_answer():
    assert settings.DEBUG is False


def test_an_unknown_storefront_url_is_a_friendly_404_with_search_and_a_way_home(client):
    response = client.get("/no-such-aisle/<b>x</b>")
    assert response.status_code == 404
    body = _assert_shop_page(response)
    assert "Page not found" in body
    assert "/no-such-aisle/%3Cb%3Ex%3C/b%3E" in body  # the path, quoted
    assert "<b>x</b>" not in body
    form = _search_form_of(body)
    assert f'action="{reverse("shop:search")}"' in form
    assert 'name="q"' in form
    assert 'id="not-found-q"' in form and '<label for="not-found-q">' in body
    assert "Back to the home page" in body


def test_an_inactive_product_is_the_same_404_page(client):
    product = ProductFactory(is_active=False, title="Withdrawn serum")
    response = client.get(reverse("shop:product", args=[product.pk]))
    assert response.status_code == 404
    body = _assert_shop_page(response)
    assert "Page not found" in body
    assert "Withdrawn serum" not in body
    _search_form_of(body)


def test_an_unknown_api_url_stays_json(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@override_settings(ROOT_URLCONF=__name__)
def test_a_failing_storefront_page_is_the_shops_500_page_without_details(failing_client):
    response = failing_client.get("/broken/")
    assert response.status_code == 500
    body = _assert_shop_page(response)
    assert "Something went wrong on our side" in body
    assert "secret detail" not in body and "RuntimeError" not in body


@override_settings(ROOT_URLCONF=__name__)
def test_a_failing_page_under_the_api_stays_json(failing_client):
    response = failing_client.get("/api/v1/broken-plain/")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "secret detail" not in response.content.decode()


def test_with_the_database_down_the_storefront_still_answers_its_500_page(failing_client):
    def database_down(execute, sql, params, many, context):
        raise OperationalError("the database is down")

    with connection.execute_wrapper(database_down):
        response = failing_client.get(reverse("shop:home"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in _assert_shop_page(response)


def test_the_500_page_is_plain_html_that_needs_no_context_and_links_real_static_files():
    source = TEMPLATE_500.read_text()
    # Nothing to evaluate: the page cannot fail while Django reports another failure.
    assert not re.search(r"\{[%{]", source)
    assert engines["django"].get_template("500.html").render() == source
    assert settings.STATIC_URL == "/static/"  # the page spells its static URLs out
    for href in re.findall(r'href="(/static/[^"]+)"', source):
        assert finders.find(href.removeprefix("/static/")), href
    assert f'href="/static/{SHOP_CSS}"' in source


def test_the_favicon_is_an_svg_under_the_shops_static_files():
    found = finders.find(FAVICON)
    assert found
    root = ElementTree.parse(found).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.parametrize("method", ["get", "head"])
def test_favicon_ico_redirects_to_the_svg(client, method):
    response = getattr(client, method)("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == static(FAVICON)
    assert "max-age=86400" in response["Cache-Control"]


def test_favicon_ico_refuses_writes(client):
    assert client.post("/favicon.ico").status_code == 405
