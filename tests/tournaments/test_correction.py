"""A corrected score is re-settled: every member's points move by the difference, exactly once,
whatever the replays, races and crashes; the board then equals a recomputation under the
corrected result."""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest

from shared.runtime import crash_points
from shared.runtime.crash_points import SimulatedCrash
from shared.runtime.errors import TransientError
from shared.tournaments.correction import CorrectionRefused, Resettlement
from shared.tournaments.leaderboard import Board, Leaderboards
from shared.tournaments.season import SeasonPlan, recompute_leaderboard
from shared.tournaments.settlement import Settlement
from shared.tournaments.store import TournamentStore
from tests.tournaments.conftest import end_match, load_plan

PLAN = SeasonPlan(tournament_id="t1", matches=2, members=60, matches_per_round=2, leagues=1, seed=7)


@dataclass(frozen=True)
class CorrectedPlan(SeasonPlan):
    """The oracle's plan with some results replaced (match number -> (home, away))."""
    corrected: tuple = ()

    def result(self, match_number: int) -> tuple[int, int]:
        return dict(self.corrected).get(match_number) or super().result(match_number)


def _board(documents):
    return [tuple(e.__dict__.values()) for e in Leaderboards(documents).read(Board("t1"), page_size=500).entries]


def _guesses_settled(documents):
    return sum(s.settled_guesses for s in TournamentStore(documents).standings("t1"))


def _correct(documents, home, away, minutes):
    """The corrected score recorded: a new status timestamp, so a new settlement key."""
    stamp = PLAN.kickoff(0) + timedelta(hours=2, minutes=minutes)
    return TournamentStore(documents).record_result("t1", "x0000", home, away, status_timestamp=stamp)


@pytest.fixture
def settled(documents):
    """Both matches settled with the plan's results."""
    store = load_plan(documents, PLAN)
    for n in range(PLAN.matches):
        match = end_match(store, PLAN, n)
        Settlement(documents, batch_members=7).settle("t1", match.match_id, match.status_timestamp,
                                                      execution_id=f"e{n}")
    assert _board(documents) == recompute_leaderboard(PLAN)
    return store


def _wrong_score():
    home, away = PLAN.result(0)
    return (home + 2, away)  # surely a different score: points move for many members


def test_a_corrected_score_moves_points_by_the_difference_once(documents, settled):
    guesses = _guesses_settled(documents)
    corrected = _correct(documents, *_wrong_score(), minutes=30)
    plain = Settlement(documents).settle("t1", "x0000", corrected.status_timestamp, execution_id="plain")
    assert plain.decision == "mismatch"  # a plain settlement flags a correction, applies nothing
    assert _board(documents) == recompute_leaderboard(PLAN)

    result = Resettlement(documents).resettle("t1", "x0000", corrected.status_timestamp, execution_id="fix")

    assert result.decision == "apply" and result.members > 0
    assert _board(documents) == recompute_leaderboard(CorrectedPlan(**PLAN.__dict__, corrected=((0, _wrong_score()),)))
    assert _guesses_settled(documents) == guesses  # a correction settles no new guess
    leaderboards = Leaderboards(documents)
    assert all(leaderboards.check(board).ok for board in leaderboards.boards_of("t1"))


def test_replays_of_every_event_after_a_correction_change_nothing(documents, settled):
    first = TournamentStore(documents).match("t1", "x0000").status_timestamp
    corrected = _correct(documents, *_wrong_score(), minutes=30)
    Resettlement(documents).resettle("t1", "x0000", corrected.status_timestamp, execution_id="fix")
    expected = _board(documents)
    events = [("plain", first), ("plain", corrected.status_timestamp), ("fix", corrected.status_timestamp)] * 10
    random.Random(5).shuffle(events)
    errors: list[BaseException] = []

    def replay(chunk):
        for kind, stamp in chunk:
            try:
                settle = Resettlement(documents).resettle if kind == "fix" else Settlement(documents).settle
                if kind == "fix" or stamp != first:
                    result = settle("t1", "x0000", stamp, execution_id="again")
                    assert result.decision == "duplicate", result
                else:  # the original event: its key is the pinned one no more, its effect differs
                    assert settle("t1", "x0000", stamp, execution_id="again").decision in ("duplicate", "mismatch")
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
    threads = [threading.Thread(target=replay, args=(events[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]
    assert _board(documents) == expected


def test_two_corrections_in_a_row_end_at_the_last_score(documents, settled):
    one = _correct(documents, *_wrong_score(), minutes=30)
    Resettlement(documents).resettle("t1", "x0000", one.status_timestamp, execution_id="fix1")
    two = _correct(documents, 0, 0, minutes=45)
    Resettlement(documents).resettle("t1", "x0000", two.status_timestamp, execution_id="fix2")
    back = _correct(documents, *PLAN.result(0), minutes=50)
    Resettlement(documents).resettle("t1", "x0000", back.status_timestamp, execution_id="fix3")
    assert _board(documents) == recompute_leaderboard(PLAN)


def test_a_stale_correction_is_refused_and_a_second_waits_for_the_first(documents, settled):
    one = _correct(documents, *_wrong_score(), minutes=30)
    _correct(documents, 0, 0, minutes=45)
    with pytest.raises(CorrectionRefused, match="status timestamp is now"):
        Resettlement(documents).resettle("t1", "x0000", one.status_timestamp, execution_id="late")

    class Die(BaseException):
        pass

    def die(point, context):
        raise Die(point)
    crash_points.install(type("I", (), {"at": staticmethod(die)})())
    two = TournamentStore(documents).match("t1", "x0000")
    try:
        with pytest.raises(Die):
            Resettlement(documents).resettle("t1", "x0000", two.status_timestamp, execution_id="fix")
    finally:
        crash_points.install(None)
    third = _correct(documents, 1, 1, minutes=55)
    with pytest.raises(TransientError, match="under way"):  # the first is still under way: this one waits
        Resettlement(documents).resettle("t1", "x0000", third.status_timestamp, execution_id="next")


@pytest.mark.parametrize("point", crash_points.SETTLEMENT_POINTS)
def test_a_crash_in_a_correction_is_finished_by_the_redelivery(documents, settled, point):
    corrected = _correct(documents, *_wrong_score(), minutes=30)
    crash_points.install(injector := crash_points.CrashOnce(point))
    try:
        with pytest.raises(SimulatedCrash):
            Resettlement(documents, ).resettle("t1", "x0000", corrected.status_timestamp, execution_id="fix")
    finally:
        crash_points.install(None)
    assert injector.fired == 1
    redelivered = Resettlement(documents).resettle("t1", "x0000", corrected.status_timestamp, execution_id="fix")
    assert redelivered.decision == "resume"
    again = Resettlement(documents).resettle("t1", "x0000", corrected.status_timestamp, execution_id="fix")
    assert again.decision == "duplicate"
    assert _board(documents) == recompute_leaderboard(CorrectedPlan(**PLAN.__dict__, corrected=((0, _wrong_score()),)))
    leaderboards = Leaderboards(documents)
    assert all(leaderboards.check(board).ok for board in leaderboards.boards_of("t1"))
