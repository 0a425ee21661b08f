"""A seeded season for the settlement run (`sportsflow settlement season`): a tournament of
rounds and matches, members, leagues, and each member's guess revisions per match, plus an
independent recomputation of the final leaderboard straight from those guesses.

The recomputation deliberately shares no code with scoring, settlement or the leaderboard: it
is the oracle the settled projection must equal.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

from shared.tournaments.model import Guess, GuessRevision, League, Match, Round, ScoringRules, Tournament

SEASON_START = datetime(2025, 8, 15, 19, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class SeasonPlan:
    tournament_id: str = "season"
    matches: int = 380
    members: int = 10_000
    revisions: int = 5
    matches_per_round: int = 10
    leagues: int = 3
    seed: int = 1
    rules: ScoringRules = ScoringRules()

    @property
    def rounds(self) -> int:
        return (self.matches + self.matches_per_round - 1) // self.matches_per_round

    def member_ids(self) -> list[str]:
        return [f"m{n:06d}" for n in range(self.members)]

    def tournament(self) -> Tournament:
        return Tournament(tournament_id=self.tournament_id, name=f"season {self.seed}", rules=self.rules)

    def round_list(self) -> list[Round]:
        # the last round is the bonus round (points x bonus_multiplier)
        return [Round(tournament_id=self.tournament_id, round_id=f"r{n:02d}", number=n + 1, bonus=n == self.rounds - 1)
                for n in range(self.rounds)]

    def kickoff(self, match_number: int) -> datetime:
        return SEASON_START + timedelta(days=7 * (match_number // self.matches_per_round),
                                        hours=match_number % self.matches_per_round)

    def match_list(self) -> list[Match]:
        return [Match(tournament_id=self.tournament_id, match_id=f"x{n:04d}",
                      round_id=f"r{n // self.matches_per_round:02d}", home=f"team{(2 * n) % 20:02d}",
                      away=f"team{(2 * n + 1) % 20:02d}", kickoff=self.kickoff(n), status="open")
                for n in range(self.matches)]

    def result(self, match_number: int) -> tuple[int, int]:
        r = random.Random(f"result-{self.seed}-{match_number}")
        return r.choice((0, 0, 1, 1, 1, 2, 2, 3, 4)), r.choice((0, 0, 1, 1, 2, 2, 3))

    def league_list(self) -> list[tuple[League, list[str]]]:
        ids = self.member_ids()
        leagues = []
        for n in range(self.leagues):
            r = random.Random(f"league-{self.seed}-{n}")
            leagues.append((League(league_id=f"{self.tournament_id}-l{n}", tournament_id=self.tournament_id,
                                   name=f"league {n}"), r.sample(ids, min(len(ids), max(1, len(ids) // 10)))))
        return leagues

    def raw_guesses(self, match_number: int) -> Iterator[tuple[str, list[tuple[int, int, datetime]]]]:
        """Each member's revisions (home, away, submitted_at) for one match: the last one is late
        (after kickoff, never counts) for one member in 10; one member in 50 never guesses."""
        kickoff = self.kickoff(match_number)
        r = random.Random(f"guesses-{self.seed}-{match_number}")
        for member_id in self.member_ids():
            if r.random() < 0.02:
                continue
            revisions = []
            for k in range(self.revisions):
                late = k == self.revisions - 1 and r.random() < 0.1
                at = kickoff + timedelta(minutes=r.randint(1, 90)) if late else \
                    kickoff - timedelta(hours=self.revisions - k, minutes=r.randint(0, 59))
                revisions.append((r.randint(0, 4), r.randint(0, 3), at))
            yield member_id, revisions

    def guesses(self, match_number: int) -> Iterator[Guess]:
        for member_id, revisions in self.raw_guesses(match_number):
            yield Guess(tournament_id=self.tournament_id, match_id=f"x{match_number:04d}", member_id=member_id,
                        revisions=[GuessRevision(home_goals=h, away_goals=a, submitted_at=at)
                                   for h, a, at in revisions])

    def guess_rows(self, match_number: int) -> Iterator[dict]:
        """The stored rows of `guesses` (what Guess.to_document gives), built without a model each."""
        match_id = f"x{match_number:04d}"
        for member_id, revisions in self.raw_guesses(match_number):
            yield {"tournament_id": self.tournament_id, "match_id": match_id, "member_id": member_id,
                   "revisions": [{"home_goals": h, "away_goals": a, "submitted_at": at}
                                 for h, a, at in revisions], "schema_version": Guess.SCHEMA_VERSION}


def recompute_leaderboard(plan: SeasonPlan, settled_matches: range | None = None) -> list[tuple[int, str, int, int]]:
    """The oracle: [(rank, member_id, points, exact_scores)] from the plan's guesses alone."""
    points = {m: 0 for m in plan.member_ids()}
    exact = {m: 0 for m in plan.member_ids()}
    rules = plan.rules
    for n in settled_matches if settled_matches is not None else range(plan.matches):
        home, away = plan.result(n)
        factor = rules.bonus_multiplier if n // plan.matches_per_round == plan.rounds - 1 else 1
        kickoff = plan.kickoff(n)
        for member_id, revisions in plan.raw_guesses(n):
            valid = [rev for rev in revisions if rev[2] < kickoff]
            if not valid:
                continue
            gh, ga, _ = sorted(valid, key=lambda rev: rev[2])[-1]
            if gh == home and ga == away:
                award = rules.exact_score
                exact[member_id] += 1
            elif gh - ga == home - away:
                award = rules.goal_difference
            elif (gh > ga) == (home > away) and (gh < ga) == (home < away):
                award = rules.outcome
            else:
                award = 0
            points[member_id] += award * factor
    ordered = sorted(points, key=lambda m: (-points[m], -exact[m], m))
    board, rank_number, last_points = [], 0, None
    for member_id in ordered:
        if points[member_id] != last_points:
            rank_number, last_points = rank_number + 1, points[member_id]
        board.append((rank_number, member_id, points[member_id], exact[member_id]))
    return board


def load_marker_path(plan: SeasonPlan) -> str:
    return f"season_loads/{plan.tournament_id}"


def load_season(documents, plan: SeasonPlan, *, progress=None):
    """The plan's tournament, rounds, matches, members, leagues and guesses in the store, in
    batched writes. A home that already holds this plan (its load marker, written last, names the
    same plan) is not loaded again: a run started again after its process was killed resumes."""
    from shared.tournaments.store import TournamentStore
    store = TournamentStore(documents)
    marker = documents.get(load_marker_path(plan))
    if marker is not None and marker.data.get("plan") == repr(plan):
        return store
    store.upsert_tournament(plan.tournament())
    for round_ in plan.round_list():
        store.upsert_round(round_)
    for match in plan.match_list():
        store.upsert_match(match)
    store.join(plan.tournament_id, plan.member_ids())
    for league, members in plan.league_list():
        store.create_league(league, members)
    for n in range(plan.matches):
        store.write_guess_rows(list(plan.guess_rows(n)))
        if progress:
            progress(n)
    documents.set(load_marker_path(plan), {"plan": repr(plan), "loaded_at": documents.now()})
    return store


def end_match(store, plan: SeasonPlan, n: int) -> Match:
    """Match n ends with the plan's result, two hours after kickoff."""
    home, away = plan.result(n)
    return store.record_result(plan.tournament_id, f"x{n:04d}", home, away,
                               status_timestamp=plan.kickoff(n) + timedelta(hours=2))
