"""A real process killed with SIGKILL in the middle of a settlement, then started again: the
points are applied once and the boards equal the independent recomputation."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from shared.runtime import crash_points

SEASON = ["leaderboard", "season", "--matches", "6", "--members", "60", "--leagues", "1"]


def season(home, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPORTSFLOW_HOME": str(home / "logs")}
    env.pop("SPORTSFLOW_KILL_AT", None)
    if kill_at:
        env["SPORTSFLOW_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-m", "shared.cli.app", *SEASON, "--home", str(home / "state")],
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("kill_at", [f"{crash_points.SETTLEMENT_BATCH_APPLIED}:1",
                                     f"{crash_points.SETTLEMENT_POINTS_WRITTEN}:3"])
def test_killed_mid_settlement_and_started_again(tmp_path, kill_at):
    killed = season(tmp_path, kill_at)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr[-2000:])
    again = season(tmp_path)  # the jobs the kill lost are redelivered; every command again is a no-op
    report = json.loads(again.stdout)
    assert report["ok"] and not report["problems"], report
    assert all(board["check"] and board["equals_recomputation"] for board in report["boards"].values()), report
    assert report["redelivered"] >= 1  # the killed settlement's job, as Pub/Sub redelivers an unacked one
    assert report["decisions"].get("resume") == 1, report["decisions"]
    assert report["completed"] == report["executions"]
