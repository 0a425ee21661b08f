"""Headless Chromium through selenium, and the console on a real HTTP server for it to visit.

Debian's `chromium` and `chromium-driver` (installed by .ci/run). Without them the browser tests
skip when run by hand and fail under CI (SPORTSFLOW_REQUIRE_BROWSER=1)."""
from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("SPORTSFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SPORTSFLOW_CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")
WINDOW = (1400, 1000)


def browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            return f"{path} not found: apt-get install -y {package}"
    return None


def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


@contextmanager
def served(app):
    """The WSGI app on 127.0.0.1 on a free port; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def sign_in(driver, base: str, token: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/login")
    driver.find_element(By.NAME, "token").send_keys(token)
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "#login button"))


def click_and_wait(driver, element, timeout_s: float = 60) -> None:
    """Click (a submit, a link) and wait until the next page has replaced this one: reading right
    after click() may still see the old page on a loaded machine."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, timeout_s).until(expected_conditions.staleness_of(page))


def screenshot(driver, directory: Path, name: str) -> Path:
    """The whole page (the window grows to the page's height first)."""
    height = driver.execute_script("return Math.max(document.body.scrollHeight, 600)")
    driver.set_window_size(WINDOW[0], min(int(height) + 40, 6000))
    path = directory / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(*WINDOW)
    return path
