"""Leaderboards: dense rank with a deterministic tie-break, pages, degraded reads, rebuild and check."""
from __future__ import annotations

import random

import pytest

from shared.ports.documents import Transaction
from shared.tournaments.leaderboard import Board, Leaderboards, rank
from shared.tournaments.model import League, Standing, Tournament
from shared.tournaments.store import TournamentStore, standing_path, tournament_path


def _standing(member, points, exact=0):
    return Standing(tournament_id="t", member_id=member, points=points, exact_scores=exact)


def test_ties_rank_densely_and_order_deterministically():
    standings = [_standing("b", 10, 1), _standing("a", 10, 1), _standing("c", 10, 3), _standing("d", 7),
                 _standing("e", 7), _standing("f", 0)]
    expected = [(1, "c"), (1, "a"), (1, "b"), (2, "d"), (2, "e"), (3, "f")]
    for seed in range(20):  # whatever order the store returns them in
        shuffled = standings[:]
        random.Random(seed).shuffle(shuffled)
        assert [(e.rank, e.member_id) for e in rank(shuffled)] == expected


@pytest.fixture
def boards(documents):
    store = TournamentStore(documents)
    store.upsert_tournament(Tournament(tournament_id="t", name="t"))
    members = [f"m{n:04d}" for n in range(1234)]
    store.join("t", members)
    store.create_league(League(league_id="l1", tournament_id="t", name="l"), members[::3])

    def score(tx: Transaction) -> None:
        for n, member in enumerate(members[:400]):
            tx.set(standing_path("t", member), _standing(member, n % 37, n % 5).to_document())
        tx.update(tournament_path("t"), {"standings_version": 1})
    documents.run_transaction(score)
    return Leaderboards(documents)


def test_pages_cover_the_board_exactly_once_in_order(boards):
    boards.rebuild(Board("t"))
    _, expected = boards.computed(Board("t"))
    seen = []
    for page in range(1, 27):
        read = boards.read(Board("t"), page=page, page_size=48)
        assert not read.degraded and read.total == 1234
        seen.extend(read.entries)
    assert seen == expected
    assert boards.read(Board("t"), page=1, page_size=500).entries == expected[:500]
    assert boards.read(Board("t"), page=3, page_size=500).entries == expected[1000:]


def test_a_missing_projection_reads_degraded_from_the_source_of_truth(boards):
    read = boards.read(Board("t", "l1"), page=2, page_size=10)
    _, expected = boards.computed(Board("t", "l1"))
    assert read.degraded and "missing" in read.reason and read.entries == expected[10:20] and read.total == 412
    boards.rebuild(Board("t", "l1"))
    projected = boards.read(Board("t", "l1"), page=2, page_size=10)
    assert not projected.degraded and projected.entries == read.entries and projected.total == read.total


def test_check_finds_a_stale_or_wrong_projection_and_rebuild_repairs_it(boards, documents):
    assert not boards.check(Board("t")).ok
    boards.rebuild(Board("t"))
    assert boards.check(Board("t")).ok
    documents.update(standing_path("t", "m1000"), {"points": 99})  # drift without a version bump
    problems = boards.check(Board("t")).problems
    assert problems and "first difference at position 1" in problems[0]
    boards.rebuild(Board("t"))
    assert boards.check(Board("t")).ok and boards.read(Board("t"), page_size=1).entries[0].member_id == "m1000"


def test_an_older_build_never_replaces_a_newer_one(boards, documents):
    boards.rebuild(Board("t"))
    first = documents.get("leaderboards/tournament__t").data["generation"]
    boards.rebuild(Board("t"))
    assert documents.query(f"leaderboards/tournament__t/generations/{first}/pages") == []  # replaced, deleted
    head = documents.get("leaderboards/tournament__t").data
    documents.update(tournament_path("t"), {"standings_version": 0})  # a build that read an older version
    assert boards.rebuild(Board("t"))["current"] is False
    assert documents.get("leaderboards/tournament__t").data["generation"] == head["generation"]
    assert len(documents.query(f"leaderboards/tournament__t/generations/{head['generation']}/pages")) == 3
