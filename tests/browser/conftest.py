"""Browser tests: headless Debian chromium driven through its chromedriver (Selenium)
against pytest-django's live server. Marked ``browser`` (``pytest -m browser``).

Where chromium or chromedriver is missing they are skipped, except in CI (``CI`` set),
where a missing browser fails them: `make test` / .ci/run install both. Every test can
save screenshots with the ``screenshot`` fixture, under var/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
WINDOW = (1400, 1000)
PHONE = (390, 844)
# The window sizes the storefront's flows run at.
SIZES = {"desktop": WINDOW, "phone": PHONE}
WAIT_SECONDS = 20


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


def _browser_paths() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


@pytest.fixture(scope="session")
def _chromium():
    paths = _browser_paths()
    if paths is None:
        message = "chromium and chromedriver are needed (make test installs them as root)"
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {message}")
        pytest.skip(message)
    # Here, not at the top: selenium is only needed where these tests run.
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = paths
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def browser(_chromium, live_server):
    """The shared headless Chromium, with no cookies, at its default window size."""
    _chromium.delete_all_cookies()
    _chromium.set_window_size(*WINDOW)
    _chromium.live_server_url = live_server.url
    yield _chromium
    _chromium.delete_all_cookies()
    # Leave the live server: Chromium's kept-alive connections end now, while the
    # server's request threads may still use the test's shared SQLite connection (they
    # would close it later from the wrong thread, a warning in whatever test runs next).
    _chromium.get("about:blank")


def sign_in(browser, user) -> None:
    """Sign ``user`` in by handing the browser a session cookie (the login form itself
    is exercised by test_access.py)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    browser.get(f"{browser.live_server_url}/static/dashboards/dashboards.css")
    browser.add_cookie({"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "path": "/"})


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_superuser(
        username="staff", email="staff@example.com", password="staff-password-1"
    )


@pytest.fixture
def staff_browser(browser, staff_user):
    """The browser signed in as a superuser."""
    sign_in(browser, staff_user)
    return browser


@pytest.fixture
def screenshot():
    """``screenshot(browser, "name")`` writes var/screenshots/name.png of the whole page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(browser, name: str) -> Path:
        height = browser.execute_script(
            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
        )
        before = browser.get_window_size()
        width = before["width"]
        # The window's chrome (headless too) takes part of its height from the page.
        chrome = browser.execute_script("return window.outerHeight - window.innerHeight")
        browser.set_window_size(width, min(max(int(height) + int(chrome) + 20, 600), 6000))
        path = SCREENSHOTS / f"{name}.png"
        browser.save_screenshot(str(path))
        browser.set_window_size(before["width"], before["height"])
        settle(browser)
        return path

    return take


def settle(browser) -> None:
    """Wait for the layout after a resize: two animation frames (the second runs after
    the first's layout)."""
    browser.set_script_timeout(10)
    browser.execute_async_script(
        "const done = arguments[0];"
        " requestAnimationFrame(() => requestAnimationFrame(() => done(true)));"
    )


def tap(browser, element) -> None:
    """Click ``element`` as a shopper would: scrolled to the middle of the window first
    (on a phone it may sit under the fold, or move while a resize settles), and tried
    again briefly while something else still covers it."""
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        ElementNotInteractableException,
    )

    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    for attempt in range(5):
        try:
            element.click()
            return
        except (ElementClickInterceptedException, ElementNotInteractableException):
            if attempt == 4:
                raise
            time.sleep(0.2)


def wait_for(browser, condition, timeout: float = WAIT_SECONDS):
    """Wait until ``condition(browser)`` is truthy (Selenium's WebDriverWait)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.2).until(condition)


def wait_until_gone(browser, element, timeout: float = WAIT_SECONDS) -> None:
    """Wait until ``element``'s page has been replaced (a form posted, a link followed).

    Selenium's ``staleness_of`` only expects StaleElementReferenceException. Asked
    about a node while the new document is being committed, chromedriver can instead
    answer an inspector error ("Node with given id does not belong to the document"):
    that too means the old page is gone. Any other error is raised."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def gone(_browser) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
        return False

    wait_for(browser, gone, timeout)
