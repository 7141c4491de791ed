"""The models dashboard in a browser: the versions side by side with the served one
marked, the charts drawn, and the confirmation page an activation goes through."""

from __future__ import annotations

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from recommender.models import ModelVersion
from tests.browser.conftest import wait_for
from tests.recommender.dashboards.test_versions import make_version

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def versions():
    """Six weekly versions, the oldest trained before the new figures, the fifth served."""
    made = [make_version(0.071, cold_users=0, measured_now=False)]
    for week, ndcg in enumerate((0.078, 0.083, 0.081, 0.094, 0.091), start=1):
        made.append(make_version(ndcg, days=7 * week, cold_users=week, active=week == 4))
    return made


def _charts_drawn(browser) -> bool:
    return browser.execute_script(
        "return [...document.querySelectorAll('.dash-canvas canvas')]"
        ".every(c => window.Chart && Chart.getChart(c))"
    )


def test_staff_compare_the_versions_and_confirm_an_activation(staff_browser, versions, screenshot):
    browser = staff_browser
    served, candidate = versions[4], versions[5]
    browser.get(f"{browser.live_server_url}{reverse('dashboards:models')}")
    wait_for(browser, lambda b: b.find_elements(By.ID, "versions-table"))
    wait_for(browser, _charts_drawn)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".dash-canvas canvas")) == 4
    groups = browser.find_elements(By.CSS_SELECTOR, "#versions-table tbody.dash-version")
    assert len(groups) == 6
    active = browser.find_element(By.ID, f"version-{served.pk}")
    assert "served" in active.find_element(By.CSS_SELECTOR, ".dash-badge").text
    oldest = browser.find_element(By.ID, f"version-{versions[0].pk}")
    assert "n/a" in oldest.text and "0.0000" not in oldest.text
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 1400
    screenshot(browser, "models")

    browser.find_element(By.ID, f"version-{candidate.pk}").find_element(
        By.LINK_TEXT, "Activate…"
    ).click()
    wait_for(browser, lambda b: b.find_elements(By.ID, "metric-changes"))
    page = browser.find_element(By.ID, "version-change").text
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Activate model v{candidate.pk}?"
    assert "-0.0030" in page  # NDCG@10 0.0940 -> 0.0910
    assert "artifact directory" in page  # the test versions have no artifact
    confirm = browser.find_element(By.CSS_SELECTOR, "#confirm-form input[type=submit]")
    assert confirm.get_attribute("value") == f"Yes, activate v{candidate.pk}"
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 1400
    screenshot(browser, "models-activate-confirm")
    assert ModelVersion.objects.get(is_active=True) == served  # looking changes nothing
