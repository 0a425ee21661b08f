"""Hostile review (session 21): `sportsflow --backend emulator leaderboard show|rebuild|check -t <id>`
without running emulators crashes with a rich traceback ending in `ConfigError: no emulator endpoints
at .../emulators.env: run sportsflow emulators up first`, exit 1, while `status` and `alerts check`
print that same sentence as one `error:` line (exit 1 / 2). Expected: the one-line error, no
traceback (the unknown-tournament refusal, exit 2, is never reached)."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shared.cli.app import app
from shared.config import ConfigError


@pytest.mark.parametrize("command", ["show", "rebuild", "check"])
def test_leaderboard_on_the_emulator_backend_without_emulators_is_a_clear_error(tmp_path, monkeypatch, command):
    monkeypatch.delenv("SPORTSFLOW_EMULATOR_ENV", raising=False)
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "--backend", "emulator",
                                      "leaderboard", command, "-t", "no-such-tournament"])
    # observed: exit 1, result.exception is the ConfigError (a traceback on the terminal)
    assert not isinstance(result.exception, ConfigError), repr(result.exception)
    assert "emulators up" in result.output
