"""The overview dashboard in headless Chromium: staff see the cards and the charts drawn
from a few days of activity, refresh the rollups with the button, and move on to the
other dashboards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from shop.models import EventType, RecommendationList
from shop.rollups import rollups_refresh
from tests.browser.conftest import wait_for
from tests.factories import EventFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _activity(days: int = 10) -> None:
    """A few shoppers' views, searches, recommendations shown and clicked, purchases."""
    products = [ProductFactory() for _ in range(4)]
    shoppers = [UserFactory() for _ in range(5)]
    now = timezone.now()
    for back in range(days):
        at = now - timedelta(days=back)
        for n, shopper in enumerate(shoppers[: 2 + back % 4]):
            product = products[(n + back) % len(products)]
            EventFactory(user=shopper, product=product, occurred_at=at)
            EventFactory(
                user=shopper,
                product=None,
                event_type=EventType.SEARCH,
                query="lamp",
                context={"results": 0 if (n + back) % 3 == 0 else 12},
                occurred_at=at,
            )
            for list_name in RecommendationList.values:
                EventFactory(
                    user=shopper,
                    product=None,
                    event_type=EventType.IMPRESSION,
                    context={"list": list_name, "shown": [p.pk for p in products]},
                    occurred_at=at,
                )
            if n % 2 == 0:
                EventFactory(
                    user=shopper,
                    product=product,
                    event_type=EventType.CLICK,
                    position=n + 1,
                    context={"list": RecommendationList.RECOMMENDATIONS},
                    occurred_at=at,
                )
                if back % 2 == 0:
                    EventFactory(
                        user=shopper,
                        product=product,
                        event_type=EventType.PURCHASE,
                        occurred_at=at + timedelta(minutes=5),
                    )


def test_staff_see_the_overview_refresh_it_and_follow_its_links(staff_browser, screenshot):
    browser = staff_browser
    _activity()
    rollups_refresh()
    EventFactory(occurred_at=timezone.now())  # one more, for "Refresh now" to count

    browser.get(f"{browser.live_server_url}{reverse('dashboards:overview')}?days=14")

    cards = {
        card.find_element(By.CLASS_NAME, "label").text: card.find_element(By.CLASS_NAME, "figure").text
        for card in browser.find_elements(By.CSS_SELECTOR, ".dash-card")
    }  # fmt: skip
    assert cards["active products"] == "5"
    assert cards["recommendation click-through"] != "n/a"
    wait_for(browser, lambda b: b.execute_script(
        "return [...document.querySelectorAll('figure.dash-chart canvas')]"
        ".every(c => c.chart && c.width > 0)"
    ))  # fmt: skip
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.dash-chart canvas")) == 5
    page_width = browser.execute_script("return document.documentElement.scrollWidth")
    assert page_width <= 1400
    screenshot(browser, "overview")

    events_before = cards["events in the range"]
    browser.find_element(By.CSS_SELECTOR, "#rollup-state input[type=submit]").click()
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".messagelist .success"))
    figures = browser.find_elements(By.CSS_SELECTOR, ".dash-card .figure")
    assert int(figures[3].text.replace(",", "")) == int(events_before.replace(",", "")) + 1
    assert "days=14" in browser.current_url

    browser.find_element(By.LINK_TEXT, "Event log").click()
    wait_for(browser, lambda b: "/admin/shop/event/" in b.current_url)
