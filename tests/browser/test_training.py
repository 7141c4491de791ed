"""Staff start a training run on tiny data from the training page and watch it finish on
its live page without reloading it (the page polls the run's state); screenshots of the
training page and of the run's page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from recommender import tasks
from recommender.models import TrainingRun
from recommender.serving import model as serving
from tests.browser.conftest import wait_for
from tests.recommender.conftest import TINY_MODEL, make_shop

pytestmark = pytest.mark.django_db(transaction=True)

TRAIN_SECONDS = 90


@pytest.fixture
def tiny_shop(settings, tmp_path):
    settings.MODEL_ROOT = tmp_path / "models"
    settings.CELERY_TASK_ALWAYS_EAGER = True  # no broker: the run trains on a thread
    serving.reset()
    make_shop()
    yield
    assert tasks.background_wait(TRAIN_SECONDS), "the training thread is still running"
    serving.reset()


def text(browser, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def test_staff_start_a_run_and_watch_it_finish_without_reloading(
    staff_browser, tiny_shop, screenshot
):
    browser = staff_browser
    browser.get(f"{browser.live_server_url}{reverse('dashboards:training')}")
    form = browser.find_element(By.ID, "training-start")
    Select(form.find_element(By.NAME, "activate")).select_by_value(TINY_MODEL["activate"])
    for name, value in TINY_MODEL.items():
        if name != "activate":
            form.find_element(By.NAME, name).send_keys(str(value))
    form.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    wait_for(browser, lambda b: "/training/runs/" in b.current_url)
    browser.execute_script("window.__marker = 1")  # gone if the page reloads
    wait_for(browser, lambda b: text(b, "run-status") in ("Succeeded", "Failed"), TRAIN_SECONDS)

    run = TrainingRun.objects.get()
    assert text(browser, "run-status") == "Succeeded", run.error
    assert browser.execute_script("return window.__marker") == 1
    assert browser.execute_script("return document.getElementById('run-progress').value") == 1
    rows = browser.find_elements(By.CSS_SELECTOR, "#run-history-table tbody tr")
    assert len(rows) == run.epoch >= 1
    assert text(browser, "run-version") == f"v{run.model_version.pk}"
    assert "registered model" in text(browser, "run-log")
    assert not browser.find_element(By.ID, "run-cancel").is_displayed()
    screenshot(browser, "training-run")

    browser.get(f"{browser.live_server_url}{reverse('dashboards:training')}")
    assert f"Run {run.pk}" in text(browser, "training-runs")
    screenshot(browser, "training")


def test_staff_cancel_a_running_run_from_its_live_page(staff_browser, tiny_shop):
    browser = staff_browser
    browser.get(f"{browser.live_server_url}{reverse('dashboards:training')}")
    form = browser.find_element(By.ID, "training-start")
    long_run = {**TINY_MODEL, "max_epochs": 5000, "patience": 1000, "activate": "never"}
    for name, value in long_run.items():
        if name != "activate":
            form.find_element(By.NAME, name).send_keys(str(value))
    form.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(browser, lambda b: "/training/runs/" in b.current_url)
    browser.execute_script("window.__marker = 1")

    wait_for(
        browser, lambda b: text(b, "run-status") == "Running" and text(b, "run-loss") != "n/a", 60
    )
    browser.find_element(By.CSS_SELECTOR, "#run-cancel input[type=submit]").click()
    wait_for(browser, lambda b: text(b, "run-status") == "Cancelled", 60)

    assert browser.execute_script("return window.__marker") == 1
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.CANCELLED and run.cancel_requested
    assert run.epoch < 5000 and not hasattr(run, "model_version")
    assert "Cancelled at epoch" in text(browser, "run-stop-note")
