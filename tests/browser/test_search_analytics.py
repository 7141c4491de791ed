"""Staff read the search analytics (charts drawn, a zero-result query fixed with one
click) and edit the learned search blend, in headless Chromium."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from recommender.models import SearchBlend
from recommender.search_blend import search_blend_current
from shop.models import EventType, Synonym
from shop.rollups import rollups_refresh
from tests.browser.conftest import wait_for
from tests.factories import EventFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

QUERIES = {"lipstick": 40, "mascara": 25, "shampoo": 18, "eyeliner": 12, "nail polish": 9}


def _log_a_fortnight() -> None:
    """Two weeks of searches in both orders, clicks at decreasing rates by position, and
    two misspelt queries without results."""
    ProductFactory(title="Matte lipstick")
    ProductFactory(title="Volume mascara")
    shopper = UserFactory()
    today = timezone.localdate()
    for day in range(14):
        when = timezone.make_aware(datetime.combine(today - timedelta(days=day), time(10)))
        for query, count in QUERIES.items():
            for n in range(count // 3 + day % 3):
                personalized = n % 2 == 0
                search = EventFactory(
                    user=shopper,
                    product=None,
                    event_type=EventType.SEARCH,
                    query=query,
                    context={
                        "results": 8,
                        "shown": list(range(1, 9)),
                        "personalized": personalized,
                    },
                    occurred_at=when,
                )
                if n % (4 if personalized else 3) == 0:
                    EventFactory(
                        user=shopper,
                        event_type=EventType.CLICK,
                        query=query,
                        position=1 + (n % 5 if personalized else n % 7),
                        context={"search_event_id": search.pk},
                        occurred_at=when + timedelta(minutes=1),
                    )
        for query in ("lipstik", "shampo"):
            EventFactory(
                user=shopper,
                product=None,
                event_type=EventType.SEARCH,
                query=query,
                context={"results": 0, "shown": [], "personalized": False},
                occurred_at=when,
            )
    rollups_refresh(full=True)


def test_staff_read_search_analytics_and_fix_a_zero_result_query(staff_browser, screenshot):
    _log_a_fortnight()
    url = f"{staff_browser.live_server_url}{reverse('dashboards:search')}?days=14"

    staff_browser.get(url)

    wait_for(staff_browser, lambda b: b.execute_script("return window.Chart !== undefined"))
    totals = staff_browser.find_element(By.ID, "search-totals").text
    assert "searches" in totals and "mean clicked position" in totals
    top = staff_browser.find_element(By.ID, "top-queries").text
    assert top.index("lipstick") < top.index("mascara")
    zero = staff_browser.find_element(By.ID, "zero-result-queries").text
    assert "lipstik" in zero and "still nothing" in zero
    assert "Personalized order" in staff_browser.find_element(By.ID, "order-comparison").text
    for key in ("searches", "positions", "order_ctr", "order_position", "order_searches"):
        assert staff_browser.find_element(By.ID, f"chart-{key}").size["height"] > 100, key
    width = staff_browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 1400
    screenshot(staff_browser, "search-analytics")

    button = staff_browser.find_element(
        By.XPATH, "//button[contains(., 'Search “lipstik” as “lipstick”')]"
    )
    button.click()

    wait_for(staff_browser, lambda b: b.find_elements(By.CSS_SELECTOR, "ul.messagelist li"))
    assert "Synonym added" in staff_browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    assert Synonym.objects.get().term == "lipstik"
    row = staff_browser.find_element(
        By.XPATH, "//*[@id='zero-result-queries']//tr[th[normalize-space()='lipstik']]"
    ).text
    assert "finds results" in row


def test_staff_see_and_edit_the_learned_search_blend(staff_browser, screenshot):
    learned = dict(search_blend_current().as_dict())
    SearchBlend.objects.create(
        weights={k: v * 0.8 for k, v in learned.items()},
        searches=412,
        metrics={"loss": 2.3817, "converged": True, "queries": 412},
    )
    SearchBlend.objects.create(
        weights=learned,
        searches=1280,
        metrics={"loss": 2.1044, "converged": True, "queries": 1280},
    )
    staff_browser.get(f"{staff_browser.live_server_url}{reverse('dashboards:search-blend')}")

    wait_for(staff_browser, lambda b: b.execute_script("return window.Chart !== undefined"))
    assert "from 1280 clicked searches" in staff_browser.find_element(By.ID, "blend-in-use").text
    assert staff_browser.find_element(By.ID, "chart-weights").size["height"] > 100
    screenshot(staff_browser, "search-blend")

    field = staff_browser.find_element(By.NAME, "w_text")
    field.clear()
    field.send_keys("0.9")
    staff_browser.find_element(By.NAME, "note").send_keys("text matters more")
    staff_browser.find_element(By.NAME, "save").click()

    wait_for(staff_browser, lambda b: b.find_elements(By.CSS_SELECTOR, "ul.messagelist li"))
    newest = SearchBlend.objects.order_by("-id").first()
    assert (newest.source, newest.weights["text"]) == (SearchBlend.Source.STAFF, 0.9)
    assert "edited by staff" in staff_browser.find_element(By.ID, "blend-in-use").text
