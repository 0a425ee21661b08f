"""Hostile review: `rebuild --from-evidence` and `backup restore --force` ignore the home lock that
`run`, `backfill`, `reconcile` and `release` hold (README: "One process per home").

Seen: `rebuild --from-evidence` started while `run --date` was re-running a corrected date on the
same home read the raw payloads before the correction and compared with the warehouse after it:
"48 table-dates compared: DIFFERENT ... 2024-11-20 nba_analytics.player_game_summary: 186 rows -> 187",
exit 1, on a home that was fine (the same rebuild once the run had finished: "equal to the original");
and the user's `backfill --stale` started meanwhile failed with "the warehouse ... is in use by another
process (PID <the rebuild>)". `restore --force` checks only the DuckDB file, so it moves aside a home
whose lock a starting `run` already holds."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from shared.cli.app import app

HOLD = ("import fcntl, sys, time\n"
        "f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX)\n"
        "f.seek(0); f.truncate(); f.write('PID 1 (sportsflow run --date 2025-01-15)'); f.flush()\n"
        "print('held', flush=True); time.sleep(120)\n")


def minimal_home(home):
    home.mkdir()
    connection = sqlite3.connect(home / "documents.sqlite")
    connection.execute("CREATE TABLE documents (path TEXT PRIMARY KEY, data TEXT)")
    connection.commit()
    connection.close()
    (home / "dev-token").write_text("t")
    return home


@pytest.fixture
def home_in_use(tmp_path):
    home = minimal_home(tmp_path / "home")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(home / "sportsflow.lock")], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline().strip() == "held"
    yield home
    holder.kill()
    holder.wait()


def invoke(home, *args):
    return CliRunner().invoke(app, ["--home", str(home), *args])


def test_rebuild_from_evidence_refuses_a_home_in_use(home_in_use, tmp_path):
    result = invoke(home_in_use, "rebuild", "--from-evidence", "--into", str(tmp_path / "rebuilt"))
    assert result.exit_code == 2 and "in use" in result.output, result.output


def test_restore_force_refuses_a_home_in_use(home_in_use, tmp_path):
    backup = tmp_path / "backup"  # of another home: a backup of a home in use is refused too (next test)
    created = invoke(minimal_home(tmp_path / "other"), "backup", "create", str(backup))
    assert created.exit_code == 0, created.output
    result = invoke(home_in_use, "backup", "restore", str(backup), "--force")
    assert result.exit_code != 0 and "in use" in result.output, result.output
    assert (home_in_use / "sportsflow.lock").exists(), "the home was moved aside under its lock holder"


def test_backup_create_refuses_a_home_in_use(home_in_use, tmp_path):
    result = invoke(home_in_use, "backup", "create", str(tmp_path / "backup"))
    assert result.exit_code == 2 and "in use" in result.output, result.output
