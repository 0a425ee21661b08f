"""`sportsflow dev up`, one date through every phase by real push into functions-framework
processes, the same table checksums as the embedded backend, `dev status` showing the flow, and
`dev down` leaving no process behind (checked by pid).

Starts its own emulators in a temporary home (like tests/emulators/test_harness.py). Predictions
are switched off in both runs to keep it to a few minutes on a shared machine; the full date with
Phase 5 is in the README's measurements (`sportsflow dev trigger --date D`).
"""
from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shared.cli.app import app
from shared.config import Settings
from shared.dev.stack import dev_down, dev_up
from shared.emulators import EmulatorUnavailable
from shared.emulators.state import EmulatorFiles
from shared.pipeline.runner import Pipeline, RunOptions

pytestmark = pytest.mark.emulator
DAY = date(2025, 1, 15)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in "ZX"


def _embedded_checksums(home: Path) -> dict[str, tuple[int, str]]:
    settings = Settings(home=home, predictions_enabled=False)
    with Pipeline(settings, RunOptions(source="synthetic")) as pipeline:
        report = pipeline.run_date(DAY)
    assert report.finished
    return {t.table: (t.rows, t.checksum) for t in report.tables}


@pytest.fixture
def restored_environment():
    """Services for the dev home export its emulators' endpoints into os.environ: later tests of
    this process must see the suite's own emulators again, whatever happens here."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_one_date_through_every_phase_by_push_equals_the_embedded_backend(restored_environment, tmp_path,
                                                                           monkeypatch):
    home = tmp_path / "dev"
    monkeypatch.setenv("SPORTSFLOW_HOME", str(home))
    monkeypatch.delenv("SPORTSFLOW_BACKEND", raising=False)
    settings = Settings(home=home, project="sportsflow-dev-test")
    try:
        state = dev_up(settings, source="synthetic", jobs="none", environment={"SPORTSFLOW_PREDICTIONS": "off"},
                       progress=lambda m: None)
    except EmulatorUnavailable as missing:
        if os.environ.get("SPORTSFLOW_REQUIRE_EMULATORS") == "1":
            raise
        pytest.skip(str(missing))
    pids = [p.pid for p in state.processes] + [r.pid for r in EmulatorFiles(settings).load().values()]
    try:
        runner = CliRunner()
        triggered = runner.invoke(app, ["--home", str(home), "dev", "trigger", "--date", DAY.isoformat(),
                                        "--json", "--timeout", "900"])
        assert triggered.exit_code == 0, triggered.output
        result = json.loads(triggered.stdout[triggered.stdout.index("{"):])
        assert result["finished"] is True

        status = runner.invoke(app, ["--home", str(home), "dev", "status", "--json"])
        assert status.exit_code == 0, status.output
        shown = json.loads(status.stdout[status.stdout.index("{"):])
        assert all(p["alive"] and p["healthy"] for p in shown["processes"])
        pushed = {row["subscription"]: row for row in shown["subscriptions"]}
        assert pushed["phase3-trigger--phase3-analytics"]["acked"] == 5  # one trigger per Phase 3 processor
        assert pushed["phase4-precompute-complete--phase5-coordinator"]["acked"] >= 1  # an HTTP push route
        assert shown["fan_in"]["finished"] is True
        assert all(t["published"] for t in shown["fan_in"]["triggers"])
    finally:
        report = dev_down(settings, progress=lambda m: None)
    assert report.left_running == []
    assert [pid for pid in pids if _alive(pid)] == []

    dev_tables = {t["table"]: (t["rows"], t["checksum"]) for t in result["tables"]}
    assert dev_tables == _embedded_checksums(tmp_path / "embedded")
