"""CI never passes by skipping: with SPORTSFLOW_REQUIRE_DATA=1 (set by .ci/run) a real-data
test fails when ../shared/data is missing; run by hand without it, the same test skips."""
from tests.child_pytest import REPO, run_child_pytest

REAL_DATA_TEST = "tests/identity/test_real_season.py"


def run_pytest(tmp_path, **env):
    return run_child_pytest(REAL_DATA_TEST, SPORTSFLOW_DATA_DIR=str(tmp_path / "absent"), **env)


def test_missing_data_fails_when_required(tmp_path):
    code, output = run_pytest(tmp_path, SPORTSFLOW_REQUIRE_DATA="1")
    assert code == 1 and "real data not found" in output, output


def test_missing_data_skips_when_run_by_hand(tmp_path):
    code, output = run_pytest(tmp_path, SPORTSFLOW_REQUIRE_DATA="0")
    assert code == 0 and "skipped" in output, output


def test_ci_requires_data_and_emulators():
    script = (REPO / ".ci" / "run").read_text()
    assert "SPORTSFLOW_REQUIRE_DATA=1" in script and "SPORTSFLOW_REQUIRE_EMULATORS=1" in script
