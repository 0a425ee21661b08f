from __future__ import annotations

import pytest

from shared.adapters.local.documents import SqliteDocumentStore
from shared.tournaments.season import SeasonPlan
from shared.tournaments.store import TournamentStore


def load_plan(documents, plan: SeasonPlan) -> TournamentStore:
    """The plan's tournament, rounds, matches, members, leagues and guesses in the store."""
    store = TournamentStore(documents)
    store.upsert_tournament(plan.tournament())
    for round_ in plan.round_list():
        store.upsert_round(round_)
    for match in plan.match_list():
        store.upsert_match(match)
    store.join(plan.tournament_id, plan.member_ids())
    for league, members in plan.league_list():
        store.create_league(league, members)
    for n in range(plan.matches):
        store.write_guesses(list(plan.guesses(n)))
    return store


def end_match(store: TournamentStore, plan: SeasonPlan, n: int):
    home, away = plan.result(n)
    return store.record_result(plan.tournament_id, f"x{n:04d}", home, away,
                               status_timestamp=plan.kickoff(n).replace(hour=23))


@pytest.fixture
def documents(tmp_path):
    store = SqliteDocumentStore(tmp_path / "d.sqlite")
    yield store
    store.close()
