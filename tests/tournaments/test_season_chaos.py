"""A season settled through commands, the bus and the worker, under chaos, equals the oracle."""
from __future__ import annotations

import pytest

from shared.runtime import crash_points
from shared.tournaments.season import SeasonPlan
from shared.tournaments.season_run import SeasonRun

PLAN = SeasonPlan(tournament_id="s", matches=20, members=80, matches_per_round=5, leagues=2, seed=5)


@pytest.mark.parametrize("chaos", [None, 11])
def test_a_season_under_chaos_equals_an_independent_recomputation(tmp_path, chaos):
    run = SeasonRun(tmp_path / "home", PLAN, chaos_seed=chaos, crash_probability=0.3)
    try:
        report = run.run()
    finally:
        run.close()
    assert report.ok, report.problems
    assert set(report.boards) == {"tournament__s", "league__s-l0", "league__s-l1"}
    assert all(b["equals_recomputation"] and b["check"] for b in report.boards.values())
    assert report.decisions.get("apply", 0) + report.decisions.get("resume", 0) >= PLAN.matches
    if chaos is not None:
        assert report.faults["duplicated"] and report.faults["acks_lost"] and report.decisions.get("duplicate")
        fired = {point for point in crash_points.SETTLEMENT_POINTS if report.faults.get(f"crash_{point}")}
        assert fired == set(crash_points.SETTLEMENT_POINTS), f"never fired: {set(crash_points.SETTLEMENT_POINTS)-fired}"
        assert report.faults.get(f"crash_{crash_points.PUBLISH_DELIVERED}")
