"""Staff sign in through the admin's form and find the dashboards; a signed-in shopper
who is not staff is refused every dashboard page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from selenium.webdriver.common.by import By

from shop.dashboards.nav import _PAGES
from tests.browser.conftest import sign_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_sign_in_through_the_form_and_see_the_dashboards(browser, staff_user, screenshot):
    browser.get(f"{browser.live_server_url}{reverse('admin:login')}")
    browser.find_element(By.NAME, "username").send_keys("staff")
    browser.find_element(By.NAME, "password").send_keys("staff-password-1")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(browser, lambda b: b.find_elements(By.ID, "dashboards-module"))
    links = browser.find_elements(By.CSS_SELECTOR, "#dashboards-module a")
    assert {a.text for a in links} == {page.label for page in _PAGES.values()}
    screenshot(browser, "admin-index")


def test_a_shopper_who_is_not_staff_is_refused_every_dashboard(browser):
    shopper = get_user_model().objects.create_user(username="shopper", password="pw-123456789")
    sign_in(browser, shopper)
    assert _PAGES, "no dashboard page is registered"
    for page in _PAGES.values():
        url = reverse(f"dashboards:{page.url_name}")
        browser.get(f"{browser.live_server_url}{url}")
        # The admin sends a signed-in non-staff user to its sign-in page.
        assert "/admin/login/" in browser.current_url, page.url_name
        assert "dash-page" not in browser.find_element(By.TAG_NAME, "body").get_attribute("class")
