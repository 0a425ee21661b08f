"""`sportsflow leaderboard resettle`: a corrected score through the command path (execution,
audit, job on settlement-jobs, the settlement worker) on a local home."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from shared.bootstrap import Services
from shared.cli.app import app
from shared.config import Settings
from shared.executions.audit import audit_entries
from shared.tournaments.leaderboard import Board, Leaderboards
from shared.tournaments.season import SeasonPlan, end_match, load_season, recompute_leaderboard
from shared.tournaments.settlement import Settlement
from tests.tournaments.test_correction import CorrectedPlan

PLAN = SeasonPlan(tournament_id="t1", matches=1, members=40, matches_per_round=1, leagues=0, seed=3)


def test_resettle_moves_the_points_to_the_corrected_score_through_the_command_path(tmp_path):
    services = Services(Settings(home=tmp_path))
    store = load_season(services.documents, PLAN)
    match = end_match(store, PLAN, 0)
    Settlement(services.documents).settle("t1", "x0000", match.status_timestamp, execution_id="first")
    services.close()
    home, away = PLAN.result(0)

    result = CliRunner().invoke(app, ["--home", str(tmp_path), "leaderboard", "resettle", "-t", "t1", "-m", "x0000",
                                      "--home-goals", str(home + 1), "--away-goals", str(away)],
                                catch_exceptions=False)

    assert result.exit_code == 0, result.output
    execution = json.loads(result.stdout)
    assert execution["status"] == "completed" and execution["summary"]["decision"] == "apply"
    services = Services(Settings(home=tmp_path))
    try:
        board = [tuple(e.__dict__.values()) for e in Leaderboards(services.documents).read(Board("t1"), page_size=100)
                 .entries]
        assert board == recompute_leaderboard(CorrectedPlan(**PLAN.__dict__, corrected=((0, (home + 1, away)),)))
        assert [e["what"] for e in audit_entries(services.documents)] == ["settlement.submit"]
    finally:
        services.close()
    refused = CliRunner().invoke(app, ["--home", str(tmp_path), "leaderboard", "resettle", "-t", "t1", "-m", "nope",
                                       "--home-goals", "1", "--away-goals", "0"])
    assert refused.exit_code == 2 and "nope" in refused.output
