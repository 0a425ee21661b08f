"""`sportsflow leaderboard rebuild|check|show` on a tournament or league the home does not have is a
usage error naming what exists (exit 2), never an empty board reported as done."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from shared.bootstrap import Services
from shared.cli.app import app
from shared.config import Settings
from shared.tournaments.season import SeasonPlan, load_season

PLAN = SeasonPlan(tournament_id="t1", members=30, matches=4, matches_per_round=2, leagues=2, revisions=1, seed=5)


def _cli(home, *args: str):
    return CliRunner().invoke(app, ["--home", str(home), "leaderboard", *args])


def test_an_unknown_tournament_or_league_is_refused_with_what_exists(tmp_path):
    services = Services(Settings(home=tmp_path))
    load_season(services.documents, PLAN)
    services.close()
    for command in ("rebuild", "check", "show"):
        refused = _cli(tmp_path, command, "-t", "nope")
        assert refused.exit_code == 2 and "no tournament 'nope'" in refused.output and "t1" in refused.output
        refused = _cli(tmp_path, command, "-t", "t1", "--league", "nope")
        assert refused.exit_code == 2 and "no league 'nope'" in refused.output
    rebuilt = _cli(tmp_path, "rebuild", "-t", "t1")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert len([json.loads(line) for line in rebuilt.stdout.splitlines()]) == 1 + PLAN.leagues
