"""Settlement applies each member's points exactly once, whatever the replays and crashes."""
from __future__ import annotations

import logging
import random
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from shared.executions.ledger import IdempotencyLedger
from shared.runtime import crash_points
from shared.runtime.crash_points import SimulatedCrash
from shared.tournaments.leaderboard import Board, Leaderboards
from shared.tournaments.season import SeasonPlan, recompute_leaderboard
from shared.tournaments.settlement import MatchNotEnded, Settlement
from shared.tournaments.store import TournamentStore
from tests.tournaments.conftest import end_match, load_plan

PLAN = SeasonPlan(tournament_id="t1", matches=4, members=60, matches_per_round=2, leagues=2, seed=7)


def _standings(documents):
    return {s.member_id: (s.points, s.exact_scores, s.settled_guesses)
            for s in TournamentStore(documents).standings(PLAN.tournament_id)}


def _board(documents):
    return [tuple(e.__dict__.values()) for e in Leaderboards(documents).read(Board("t1"), page_size=500).entries]


@pytest.fixture
def season(documents):
    return load_plan(documents, PLAN)


def test_open_to_ended_settles_once_and_applies_points_once(documents, season):
    settlement = Settlement(documents, batch_members=7)
    with pytest.raises(MatchNotEnded):
        settlement.settle("t1", "x0000", "whenever", execution_id="e0")
    match = end_match(season, PLAN, 0)
    result = settlement.settle("t1", "x0000", match.status_timestamp, execution_id="e1")
    assert result.decision == "apply" and result.batches_applied == result.batches_skipped + 9 == 9
    assert _board(documents) == recompute_leaderboard(PLAN, range(1))
    again = settlement.settle("t1", "x0000", match.status_timestamp, execution_id="e2")
    assert (again.decision, again.original_execution_id, again.batches_applied) == ("duplicate", "e1", 0)
    assert _board(documents) == recompute_leaderboard(PLAN, range(1))


def test_replaying_settlements_ten_times_reordered_and_concurrent_changes_nothing(documents, season):
    matches = [end_match(season, PLAN, n) for n in range(PLAN.matches)]
    events = [(m.match_id, m.status_timestamp) for m in matches] * 10
    random.Random(3).shuffle(events)
    errors: list[BaseException] = []

    def worker(chunk):
        settlement = Settlement(documents, batch_members=11)
        for match_id, stamp in chunk:
            try:
                settlement.settle("t1", match_id, stamp, execution_id=f"e-{match_id}")
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
    threads = [threading.Thread(target=worker, args=(events[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    expected = recompute_leaderboard(PLAN)
    assert _board(documents) == expected
    assert sum(s[2] for s in _standings(documents).values()) == sum(1 for n in range(4) for g in PLAN.guesses(n)
                                                                      if g.counting(PLAN.kickoff(n)))
    leaderboards = Leaderboards(documents)
    assert all(leaderboards.check(board).ok for board in leaderboards.boards_of("t1"))


def test_a_corrected_event_for_a_settled_match_is_flagged_not_applied(documents, season, caplog):
    match = end_match(season, PLAN, 0)
    settlement = Settlement(documents)
    settlement.settle("t1", "x0000", match.status_timestamp, execution_id="e1")
    before = _standings(documents)
    # the same result under a later status timestamp: the same effect, a no-op
    later = match.status_timestamp + timedelta(minutes=5)
    assert settlement.settle("t1", "x0000", later, execution_id="e2").decision == "duplicate"
    # a changed score: the effect's checksum differs, flagged on the original outcome
    season.record_result("t1", "x0000", match.home_goals + 1, match.away_goals, status_timestamp=later)
    with caplog.at_level(logging.WARNING, logger="sportsflow.settlement"):
        flagged = settlement.settle("t1", "x0000", later, execution_id="e3")
    assert flagged.decision == "mismatch" and flagged.batches_applied == 0
    assert _standings(documents) == before
    assert IdempotencyLedger(documents).get(flagged.outcome_key).mismatches == 1
    # the exact message infra/monitoring.tf counts and alerts on
    (line,) = [r for r in caplog.records if r.getMessage() == "settlement effect checksum mismatch"]
    assert line.fields["settlement_key"] == flagged.key and line.fields["checksum"] == flagged.checksum
    assert 'jsonPayload.message=\\"settlement effect checksum mismatch\\"' in \
        (Path(__file__).parents[2] / "infra" / "monitoring.tf").read_text()


@pytest.mark.parametrize("point", crash_points.SETTLEMENT_POINTS)
def test_a_crash_anywhere_in_a_settlement_is_finished_by_the_redelivery(documents, season, point):
    match = end_match(season, PLAN, 1)
    crash_points.install(crash_points.CrashOnce(point))
    try:
        with pytest.raises(SimulatedCrash):
            Settlement(documents, batch_members=13).settle("t1", "x0001", match.status_timestamp, execution_id="e1")
    finally:
        crash_points.install(None)
    redelivered = Settlement(documents, batch_members=13).settle("t1", "x0001", match.status_timestamp,
                                                                 execution_id="e2")
    assert redelivered.decision == "resume" and redelivered.original_execution_id == "e1"
    assert _board(documents) == recompute_leaderboard(PLAN, range(1, 2))
    assert Settlement(documents).settle("t1", "x0001", match.status_timestamp, execution_id="e3").decision \
        == "duplicate"


def test_a_crash_between_the_points_and_the_projection_is_recovered_by_rebuild(documents, season):
    first = end_match(season, PLAN, 0)
    Settlement(documents).settle("t1", "x0000", first.status_timestamp, execution_id="e1")
    match = end_match(season, PLAN, 1)
    crash_points.install(crash_points.CrashOnce(crash_points.SETTLEMENT_POINTS_WRITTEN))
    try:
        with pytest.raises(SimulatedCrash):
            Settlement(documents).settle("t1", "x0001", match.status_timestamp, execution_id="e2")
    finally:
        crash_points.install(None)
    leaderboards = Leaderboards(documents)
    assert not leaderboards.check(Board("t1")).ok  # the projection still shows match 0 only
    page = leaderboards.read(Board("t1"), page_size=500)
    assert page.degraded and "stale" in page.reason
    expected = recompute_leaderboard(PLAN, range(2))
    assert [tuple(e.__dict__.values()) for e in page.entries] == expected  # degraded, but right
    for board in leaderboards.boards_of("t1"):
        leaderboards.rebuild(board)
        assert leaderboards.check(board).ok
    page = leaderboards.read(Board("t1"), page_size=500)
    assert not page.degraded and [tuple(e.__dict__.values()) for e in page.entries] == expected


def test_the_bulk_guess_rows_are_exactly_the_models_rows():
    assert [g.to_document() for g in PLAN.guesses(2)] == list(PLAN.guess_rows(2))
