"""The console in headless Chromium: pages load, filters work, an override made through the UI lands
in the audit log, a stale match shows "Data delayed", an unauthenticated visitor is refused.
Every page is saved as a screenshot (the directory is printed; SPORTSFLOW_SCREENSHOTS chooses it)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.validation import records
from tests.console.browser import WINDOW, browser_missing, chromium, click_and_wait, screenshot, served, sign_in
from tests.console.conftest import ADMIN_TOKEN, INVOKER_TOKEN
from tests.console.seed import PIPELINE_DAY, STALE_MATCH, WRONG_GAME

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    directory = Path(os.environ.get("SPORTSFLOW_SCREENSHOTS") or tmp_path_factory.mktemp("console-screenshots"))
    directory.mkdir(parents=True, exist_ok=True)
    print(f"\nconsole screenshots: {directory}")
    return directory


@pytest.fixture(scope="module")
def base(app):
    with served(app) as url:
        yield url


@pytest.fixture(scope="module")
def driver():
    missing = browser_missing()
    if missing:
        if os.environ.get("SPORTSFLOW_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    browser = chromium()
    yield browser
    browser.quit()


def _by():
    from selenium.webdriver.common.by import By
    return By


def test_an_unauthenticated_visitor_is_refused(driver, base, shots) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base}/validations")
    assert "Sign in to see the console" in driver.find_element(_by().ID, "refused").text
    assert "decisions" not in driver.page_source.split("<body", 1)[1].lower().split("</form>")[1]
    screenshot(driver, shots, "00-refused")
    sign_in(driver, base, "a-wrong-token")
    assert "Refused" in driver.find_element(_by().ID, "refused").text


PAGES = (("01-overview", "/"), ("02-pipeline", "/pipeline"), ("03-pipeline-date", f"/pipeline?date={PIPELINE_DAY}"),
         ("04-coverage", "/coverage"), ("05-validations", "/validations"), ("07-reviews", "/reviews"),
         ("08-live", "/live"), ("09-executions", "/executions"), ("10-leaderboards", "/leaderboards"),
         ("11-health", "/health"))


def test_every_page_loads(driver, base, shots) -> None:
    sign_in(driver, base, INVOKER_TOKEN)
    for name, path in PAGES:
        driver.get(base + path)
        assert driver.find_element(_by().TAG_NAME, "h1").text, path
        assert "Something went wrong" not in driver.page_source, path
        screenshot(driver, shots, name)


def test_the_validation_filters_work(driver, base, shots, seeded) -> None:
    sign_in(driver, base, INVOKER_TOKEN)
    driver.get(f"{base}/validations")
    every = seeded.documents.count(records.DECISIONS)
    assert f"{every} decision(s)" in driver.find_element(_by().ID, "total").text
    driver.find_element(_by().NAME, "game_id").send_keys(WRONG_GAME)
    click_and_wait(driver, driver.find_element(_by().ID, "apply"))
    expected = seeded.documents.count(records.DECISIONS, [("game_id", "==", WRONG_GAME)])
    assert f"{expected} decision(s)" in driver.find_element(_by().ID, "total").text
    rows = driver.find_elements(_by().CSS_SELECTOR, "#decisions tr")[1:]
    assert len(rows) == expected and all(WRONG_GAME in row.text for row in rows)
    screenshot(driver, shots, "06-validations-filtered")


def test_an_override_through_the_ui_lands_in_the_audit_log(driver, base, shots, seeded) -> None:
    sign_in(driver, base, ADMIN_TOKEN)
    driver.get(f"{base}/reviews")
    form = driver.find_elements(_by().CSS_SELECTOR, "form.decide")[0]
    key = form.get_attribute("action").split("/reviews/")[1].removesuffix("/decide")
    form.find_element(_by().NAME, "reason").send_keys("checked the MLB box score by hand")
    click_and_wait(driver, form.find_element(_by().TAG_NAME, "button"))
    assert driver.current_url.endswith(f"/validations/{key}")
    trail = driver.find_element(_by().ID, "trail").text
    assert "human override" in trail and "checked the MLB box score by hand" in trail and "dev-admin" in trail
    overrides = seeded.documents.query(records.OVERRIDES, [("decision_key", "==", key)])
    assert [o.data["reason"] for o in overrides] == ["checked the MLB box score by hand"]
    assert seeded.services.evidence.head(overrides[0].data["evidence_key"]) is not None
    screenshot(driver, shots, "12-validation-after-override")
    click_and_wait(driver, driver.find_element(_by().ID, "proof-link"))
    assert driver.find_element(_by().ID, "proof").text.startswith("{")
    screenshot(driver, shots, "13-inclusion-proof")


def test_a_stale_match_shows_data_delayed(driver, base) -> None:
    sign_in(driver, base, INVOKER_TOKEN)
    driver.get(f"{base}/live")
    rows = {row.text.split()[0]: row for row in driver.find_elements(_by().CSS_SELECTOR, "#matches tr")[1:]}
    assert "Data delayed" in rows[STALE_MATCH].text and "67'" in rows[STALE_MATCH].text
    assert "Data delayed" not in rows["fresh-1"].text


CHARTS = (("14-chart-dead-letters", "/", "dead-letters-over-time"), ("15-chart-retries", "/", "retries"),
          ("16-chart-fan-in-phases", "/pipeline", "fan-in-phases"), ("17-chart-backlog", "/pipeline", "backlog"),
          ("18-chart-breakers", "/health", "breakers"))


def test_the_metric_charts_are_drawn_in_the_browser(driver, base, shots) -> None:
    sign_in(driver, base, INVOKER_TOKEN)
    for name, path, element_id in CHARTS:
        driver.get(base + path)
        chart = driver.find_element(_by().CSS_SELECTOR, f"#{element_id} svg.chart")
        assert chart.is_displayed() and chart.size["width"] > 300 and chart.size["height"] > 40, name
        assert chart.find_elements(_by().CSS_SELECTOR, "polyline, rect"), name
        height = driver.execute_script("return Math.max(document.body.scrollHeight, 600)")
        driver.set_window_size(WINDOW[0], min(int(height) + 400, 6000))  # the whole chart in view
        driver.execute_script("arguments[0].scrollIntoView()", chart)
        chart.screenshot(str(shots / f"{name}.png"))
        driver.set_window_size(*WINDOW)
