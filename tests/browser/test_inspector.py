"""Staff inspect a shopper in a browser: find them by username, see their history, the
served model's recommendations with reasons and their segment, then search as them;
and the admin's explain view of the same search. Neither page is wider than the screen."""

from __future__ import annotations

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from recommender.models import TrainingRun
from recommender.serving import model as serving
from recommender.training.pipeline import train_from_database
from recommender.training.versions import model_version_activate, model_version_register
from tests.browser.conftest import wait_for
from tests.recommender.conftest import TINY_MODEL, make_shop

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def served_model(settings, tmp_path):
    """The tiny shop of the recommender's tests with a model trained on it and served."""
    settings.MODEL_ROOT = tmp_path / "models"
    settings.SHOP_PERSONALIZER = "recommender.personalizer.RecommenderPersonalizer"
    serving.reset()
    users = make_shop()
    result = train_from_database(parameters=TINY_MODEL, log=lambda line: None)
    version = model_version_register(run=TrainingRun.objects.create(), result=result)
    model_version_activate(version=version)
    serving.reset()
    yield users
    serving.reset()


def _not_wider_than_the_window(browser) -> bool:
    return browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"
    )


def _text(browser, css: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, css).text


def test_staff_inspect_a_shopper_and_search_as_them(staff_browser, served_model, screenshot):
    browser = staff_browser
    browser.get(f"{browser.live_server_url}{reverse('dashboards:inspector')}")
    assert "buyer29" in _text(browser, "#recent")  # the latest events are buyer29's
    screenshot(browser, "inspector-find")

    browser.find_element(By.ID, "id_find").send_keys("buyer0")
    browser.find_element(By.CSS_SELECTOR, "#inspector-find input[type=submit]").click()
    wait_for(browser, lambda b: b.find_elements(By.ID, "who"))

    who = _text(browser, "#who")
    assert "buyer0" in who
    assert "warm (6 interactions" in who
    assert "Served model" in who and "Cached top-K" in who
    recommendations = _text(browser, "#recommendations")
    assert "Because you showed interest in “Thing number" in recommendations
    history = browser.find_elements(By.CSS_SELECTOR, "#history tbody tr")
    assert len(history) == 6
    assert "Thing number" in history[0].text

    browser.find_element(By.ID, "id_q").send_keys("thing")
    browser.find_element(By.CSS_SELECTOR, "#search-as-form input[type=submit]").click()
    wait_for(browser, lambda b: b.find_elements(By.ID, "explain"))

    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#explain thead th")]
    assert "TASTE" in headers and "TEXT MATCH" in headers  # the admin's capitals
    assert not any(h.startswith("X_") for h in headers)
    assert "Personalized order for this shopper" in _text(browser, "#explain-order")
    assert _not_wider_than_the_window(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#panels .inspector-slot")) == 3
    screenshot(browser, "inspector")


def test_the_admins_explain_view_of_the_same_search(staff_browser, served_model, screenshot):
    browser = staff_browser
    url = reverse("admin:shop_searchrule_explain")
    browser.get(f"{browser.live_server_url}{url}?q=thing&user=buyer0")
    wait_for(browser, lambda b: b.find_elements(By.ID, "explain"))

    assert "Personalized order for this shopper" in _text(browser, "#explain-order")
    assert "Taste" in _text(browser, ".explain-legend")
    assert _not_wider_than_the_window(browser)
    screenshot(browser, "search-explain")

    browser.get(f"{browser.live_server_url}{url}?q=thing")
    assert "No shopper given" in _text(browser, "#explain-order")
