"""Browser tests never pass by skipping in CI: SPORTSFLOW_REQUIRE_BROWSER=1 (set by .ci/run) turns a
missing chromium-driver into a failure; run by hand without it they skip."""
from tests.child_pytest import REPO, run_child_pytest


def run_browser_tests(tmp_path, **env):
    return run_child_pytest("tests/console/test_browser.py::test_a_stale_match_shows_data_delayed",
                            SPORTSFLOW_CHROMEDRIVER=str(tmp_path / "absent"), **env)


def test_a_missing_browser_fails_when_required(tmp_path):
    code, output = run_browser_tests(tmp_path, SPORTSFLOW_REQUIRE_BROWSER="1")
    assert code == 1 and "chromium-driver" in output, output


def test_a_missing_browser_skips_when_run_by_hand(tmp_path):
    code, output = run_browser_tests(tmp_path, SPORTSFLOW_REQUIRE_BROWSER="0")
    assert code == 0 and "skipped" in output, output


def test_ci_installs_chromium_and_requires_the_browser():
    script = (REPO / ".ci" / "run").read_text()
    assert "chromium chromium-driver" in script and "SPORTSFLOW_REQUIRE_BROWSER=1" in script
