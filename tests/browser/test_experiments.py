"""Staff create an A/B experiment of the search order in the browser, start it, shoppers
search (real storefront requests: each is counted in their arm), click and buy, the
rollup counts it, and the report shows each arm with its figures and charts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from shop.models import EventType, Experiment, Exposure
from shop.rollups import rollups_refresh
from tests.browser.conftest import wait_for
from tests.factories import EventFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
SHOPPERS = 60
DAYS = 5


def shoppers_search_click_and_buy(experiment: Experiment) -> None:
    """SHOPPERS signed-in shoppers search for lamps (counted in their arm by the search
    itself); the lexical arm's shoppers click and buy more. Their exposures are spread
    over the last DAYS days, as if the experiment had run that long."""
    lamps = [ProductFactory(title=f"Desk lamp {n}", price="20.00") for n in range(4)]
    client = Client()
    for n in range(SHOPPERS):
        user = UserFactory(username=f"lamp-shopper-{n}")
        client.force_login(user)
        assert client.get(reverse("shop:search"), {"q": "lamp"}).status_code == 200
    now = timezone.now()
    Experiment.objects.filter(pk=experiment.pk).update(started_at=now - timedelta(days=DAYS + 1))
    for n, exposure in enumerate(Exposure.objects.filter(experiment=experiment).order_by("pk")):
        exposed_at = now - timedelta(days=n % DAYS, hours=2)
        Exposure.objects.filter(pk=exposure.pk).update(first_exposed_at=exposed_at)
        lexical = exposure.arm.name == "lexical"
        if n % (2 if lexical else 4) == 0:
            EventFactory(
                user=exposure.user,
                product=lamps[n % 4],
                event_type=EventType.CLICK,
                occurred_at=exposed_at + timedelta(minutes=5),
            )
        if n % (4 if lexical else 8) == 0:
            EventFactory(
                user=exposure.user,
                product=lamps[n % 4],
                event_type=EventType.PURCHASE,
                value=1 + n % 3,
                occurred_at=exposed_at + timedelta(minutes=20),
            )
    rollups_refresh(full=True)


def test_staff_create_start_and_read_an_experiment(staff_browser, screenshot):
    browser = staff_browser
    base = browser.live_server_url
    browser.get(f"{base}{reverse('dashboards:experiments')}")
    assert "No experiments yet" in browser.find_element(By.ID, "experiments").text
    browser.find_element(By.CSS_SELECTOR, ".object-tools a.addlink").click()

    browser.find_element(By.NAME, "name").send_keys("Lexical search order")
    browser.find_element(By.NAME, "hypothesis").send_keys(
        "Shoppers click as much without the personalized order."
    )
    minimum = browser.find_element(By.NAME, "minimum_detectable_effect")
    minimum.clear()
    minimum.send_keys("50")
    browser.find_element(By.NAME, "baseline").send_keys("10")
    # The form starts with personalized (control) against lexical, 50/50; the model
    # versions are greyed out for the search surface.
    variant = Select(browser.find_element(By.NAME, "arms-1-variant"))
    assert variant.first_selected_option.get_attribute("value") == "search_order:lexical"
    disabled = browser.find_elements(By.CSS_SELECTOR, "#arms optgroup[disabled]")
    assert disabled and all(g.get_attribute("label") == "Recommendations model" for g in disabled)
    screenshot(browser, "experiment-new")
    browser.find_element(By.CSS_SELECTOR, "#experiment-form input[type=submit]").click()

    wait_for(browser, lambda b: b.find_elements(By.ID, "experiment-plan"))
    assert "draft" in browser.find_element(By.ID, "experiment-plan").text
    browser.find_element(By.CSS_SELECTOR, "input[value='Start the experiment']").click()
    wait_for(browser, lambda b: "started" in b.find_element(By.CSS_SELECTOR, ".messagelist").text)
    experiment = Experiment.objects.get(name="Lexical search order")
    assert experiment.is_running

    shoppers_search_click_and_buy(experiment)
    browser.refresh()
    table = browser.find_element(By.ID, "arms-report")
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [r.find_element(By.TAG_NAME, "th").text.splitlines()[0] for r in rows] == [
        "control",
        "lexical",
    ]
    shoppers = [int(r.find_elements(By.TAG_NAME, "td")[1].text) for r in rows]
    assert sum(shoppers) == SHOPPERS and all(shoppers)
    assert " · p " in rows[1].find_elements(By.TAG_NAME, "td")[2].text  # lift vs control
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#chart-exposures"))
    assert browser.find_element(By.ID, "srm").text
    screenshot(browser, "experiment-report")

    browser.find_element(By.LINK_TEXT, "Declare the winner…").click()
    wait_for(browser, lambda b: b.find_elements(By.ID, "declare-form"))
    assert "planned" in browser.find_element(By.ID, "declare-form").text
    screenshot(browser, "experiment-declare")

    browser.get(f"{base}{reverse('dashboards:experiments')}")
    listed = browser.find_element(By.ID, "experiments").text
    assert "Lexical search order" in listed and "running" in listed
    screenshot(browser, "experiments")
