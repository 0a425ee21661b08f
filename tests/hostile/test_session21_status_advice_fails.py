"""Hostile review (session 21): `sportsflow status --date D` of a replay home whose run was killed says
"finished: no — ...: `sportsflow run --date D` predicts the date again". Following that advice word
for word fails: exit 2, "home ... was built from replay, and this command asks for synthetic" (the
command it prints has no --source). Observed on replay:/work/shared/data, 2025-01-15, killed at
fanin.claimed:5. Expected: the advice names the home's source (or the command works as printed)."""
from __future__ import annotations

import re
import shlex
import signal

from shared.runtime import crash_points
from tests.exactly_once.test_sigkill import sportsflow
from tests.providers.made_up_season import D, write_made_up_season


def test_the_run_status_advises_after_a_kill_works_as_printed(tmp_path):
    folder = write_made_up_season(tmp_path / "data")
    home = tmp_path / "home"
    killed = sportsflow(home, "run", "--date", D.isoformat(), "--source", f"replay:{folder}",
                        kill_at=f"{crash_points.FANIN_CLAIMED}:2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-1000:]
    status = sportsflow(home, "status", "--date", D.isoformat())
    advice = re.search(r"`(sportsflow run [^`]*)`", status.stdout)
    assert advice, status.stdout[-1500:]
    followed = sportsflow(home, *shlex.split(advice.group(1))[1:])
    # observed: exit 2, "was built from replay, and this command asks for synthetic"
    assert followed.returncode == 0, (advice.group(1), followed.stderr[-500:])


def test_the_source_the_home_mismatch_error_advises_is_a_source(tmp_path):
    """And the refusal's own advice, "or run with --source replay", is refused too: "unknown source
    'replay': use synthetic or replay:PATH" (the home knows its path but does not say it)."""
    folder = write_made_up_season(tmp_path / "data")
    home = tmp_path / "home"
    assert sportsflow(home, "run", "--date", D.isoformat(), "--source", f"replay:{folder}").returncode == 0
    refused = sportsflow(home, "run", "--date", D.isoformat())
    assert refused.returncode == 2
    advised = re.search(r"run with --source (\S+)", refused.stderr + refused.stdout)
    assert advised, refused.stderr[-500:]
    followed = sportsflow(home, "run", "--date", D.isoformat(), "--source", advised.group(1))
    # observed: exit 2, "unknown source 'replay': use synthetic or replay:PATH"
    assert followed.returncode == 0, (advised.group(1), followed.stderr[-300:])
