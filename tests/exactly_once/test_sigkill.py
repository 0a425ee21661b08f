"""A real process killed with SIGKILL at a crash point, then started again: `sportsflow run`
(and, for what the kill lost in flight, one `sportsflow reconcile`) leaves exactly the tables
and run counts of an undisturbed run."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys

import pytest

from shared.runtime import crash_points
from tests.exactly_once.harness import DAY, open_pipeline, successes

KILLABLE = (crash_points.FANIN_CLAIMED, crash_points.PROCESSOR_LOADED, crash_points.PROCESSOR_RECORDED,
            crash_points.PROCESSOR_HALF_LOADED, crash_points.PUBLISH_DELIVERED)


def sportsflow(home, *args, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPORTSFLOW_HOME": str(home)}
    env.pop("SPORTSFLOW_KILL_AT", None)
    if kill_at:
        env["SPORTSFLOW_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-m", "shared.cli.app", *args], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    home = tmp_path_factory.mktemp("clean")
    result = sportsflow(home, "run", "--date", DAY.isoformat(), "--json")
    assert result.returncode == 0, result.stderr
    with open_pipeline(home) as pipeline:
        runs = successes(pipeline)
    return json.loads(result.stdout)["tables"], runs


def kills(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(KILLABLE)}:{rng.randint(1, 4)}" for _ in range(count)]


PHASE5_KILLS = [f"{crash_points.FANOUT_CHUNK_PUBLISHED}:2", f"{crash_points.PREDICTIONS_WRITTEN}:40",
                f"{crash_points.PUBLISH_DELIVERED}:150",
                f"{crash_points.WAREHOUSE_BATCH_CLAIMED}:60"]  # inside a player's append: claimed, rows not yet


@pytest.mark.parametrize("kill_at", kills(seed=7, count=3) + [f"{crash_points.FANIN_CLAIMED}:1"] + PHASE5_KILLS)
def test_killed_and_started_again(tmp_path, clean, kill_at):
    tables, runs = clean
    killed = sportsflow(tmp_path, "run", "--date", DAY.isoformat(), kill_at=kill_at)
    assert killed.returncode == -signal.SIGKILL, (kill_at, killed.returncode, killed.stderr[-2000:])
    sportsflow(tmp_path, "run", "--date", DAY.isoformat())  # started again: may not finish alone
    reconciled = sportsflow(tmp_path, "reconcile", "--date", DAY.isoformat(), "--json")
    assert reconciled.returncode == 0, reconciled.stderr
    final = sportsflow(tmp_path, "run", "--date", DAY.isoformat(), "--json")
    assert final.returncode == 0, final.stderr[-2000:]
    report = json.loads(final.stdout)
    assert report["tables"] == tables, kill_at
    with open_pipeline(tmp_path) as pipeline:
        assert successes(pipeline) == runs, kill_at
    again = sportsflow(tmp_path, "reconcile", "--date", DAY.isoformat(), "--json")
    assert json.loads(again.stdout)["repairs"] == []


@pytest.mark.parametrize("kill_at", [f"{crash_points.FANIN_CLAIMED}:1", f"{crash_points.FANIN_CLAIMED}:3",
                                     f"{crash_points.PROCESSOR_RECORDED}:2"])
def test_a_plain_rerun_heals_every_kill_point_without_reconcile(tmp_path, clean, kill_at):
    """The embedded home admits one process, so the re-run knows every lease the killed run left is
    dead: it repairs them itself (one reconciler pass) and finishes equal to a clean run."""
    tables, runs = clean
    killed = sportsflow(tmp_path, "run", "--date", DAY.isoformat(), kill_at=kill_at)
    assert killed.returncode == -signal.SIGKILL, (kill_at, killed.returncode, killed.stderr[-2000:])
    rerun = sportsflow(tmp_path, "run", "--date", DAY.isoformat(), "--json")
    assert rerun.returncode == 0, (kill_at, rerun.stderr[-2000:])
    report = json.loads(rerun.stdout)
    assert report["finished"] and report["tables"] == tables, kill_at
    with open_pipeline(tmp_path) as pipeline:
        assert successes(pipeline) == runs, kill_at
    again = sportsflow(tmp_path, "reconcile", "--date", DAY.isoformat(), "--json")
    assert json.loads(again.stdout)["repairs"] == []

