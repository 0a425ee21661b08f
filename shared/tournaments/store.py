"""The tournament domain on the document store: paths and the writes members and admins make."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Iterator, Sequence

from shared.ports.documents import DocumentStore, Transaction
from shared.tournaments.model import (
    Guess,
    GuessRevision,
    League,
    Match,
    Round,
    Standing,
    Tournament,
)

MAX_WRITES_PER_TRANSACTION = 500  # Firestore's limit
# What settlement keeps on a match document (its pinned key and effect, a correction under way)
SETTLEMENT_FIELDS = ("settlement_key", "settled_effect", "correction")


class GuessRefused(ValueError):
    """A guess after kickoff, or for a match that is not open."""


def tournament_path(tournament_id: str) -> str:
    return f"tournaments/{tournament_id}"


def round_path(tournament_id: str, round_id: str) -> str:
    return f"{tournament_path(tournament_id)}/rounds/{round_id}"


def match_path(tournament_id: str, match_id: str) -> str:
    return f"{tournament_path(tournament_id)}/matches/{match_id}"


def standings_collection(tournament_id: str) -> str:
    return f"{tournament_path(tournament_id)}/standings"


def standing_path(tournament_id: str, member_id: str) -> str:
    return f"{standings_collection(tournament_id)}/{member_id}"


def guesses_collection(tournament_id: str, match_id: str) -> str:
    """A match's guesses, one document per member: settlement reads exactly this collection, never
    a filter over the season's millions of guesses."""
    return f"{match_path(tournament_id, match_id)}/guesses"


def guess_path(tournament_id: str, match_id: str, member_id: str) -> str:
    return f"{guesses_collection(tournament_id, match_id)}/{member_id}"


def league_path(league_id: str) -> str:
    return f"leagues/{league_id}"


def league_members_collection(league_id: str) -> str:
    return f"{league_path(league_id)}/members"


class TournamentStore:
    def __init__(self, documents: DocumentStore):
        self.documents = documents

    # admin writes (ingestion upserts these)

    def upsert_tournament(self, tournament: Tournament) -> None:
        path = tournament_path(tournament.tournament_id)

        def upsert(tx: Transaction) -> None:
            existing = tx.get(path)
            version = existing.data.get("standings_version", 0) if existing else 0
            tx.set(path, {**tournament.to_document(), "standings_version": version})
        self.documents.run_transaction(upsert)

    def upsert_round(self, round_: Round) -> None:
        self.documents.set(round_path(round_.tournament_id, round_.round_id), round_.to_document())

    def upsert_match(self, match: Match) -> None:
        """Create or update a fixture; an ended match's result is only changed by `record_result`."""
        path = match_path(match.tournament_id, match.match_id)

        def upsert(tx: Transaction) -> None:
            existing = tx.get(path)
            keep = {k: existing.data[k] for k in SETTLEMENT_FIELDS if existing and k in existing.data}
            tx.set(path, {**match.to_document(), **keep})
        self.documents.run_transaction(upsert)

    def join(self, tournament_id: str, member_ids: Iterable[str]) -> int:
        """Members join with a zero standing (create-only: joining again changes nothing)."""
        created = 0
        for chunk in _chunks(sorted(set(member_ids)), MAX_WRITES_PER_TRANSACTION):
            def join_chunk(tx: Transaction, chunk=chunk) -> int:
                existing = tx.get_all([standing_path(tournament_id, m) for m in chunk])
                missing = [m for m, document in zip(chunk, existing) if document is None]
                for member_id in missing:
                    tx.create(standing_path(tournament_id, member_id),
                              Standing(tournament_id=tournament_id, member_id=member_id).to_document())
                return len(missing)
            created += self.documents.run_transaction(join_chunk)
        return created

    def create_league(self, league: League, member_ids: Sequence[str]) -> None:
        self.documents.set(league_path(league.league_id), {**league.to_document(), "members_version": 1})
        members = league_members_collection(league.league_id)
        for chunk in _chunks(sorted(set(member_ids)), MAX_WRITES_PER_TRANSACTION):
            self.documents.set_many([(f"{members}/{member_id}", {"member_id": member_id}) for member_id in chunk])

    def write_guesses(self, guesses: Sequence[Guess]) -> None:
        """Bulk load of guesses (ingestion, the season run), in batched writes of at most 500."""
        self.write_guess_rows([guess.to_document() for guess in guesses])

    def write_guess_rows(self, rows: Sequence[dict]) -> None:
        """`write_guesses` for rows already in Guess.to_document's shape (the season run's bulk load)."""
        for chunk in _chunks(list(rows), MAX_WRITES_PER_TRANSACTION):
            self.documents.set_many([(guess_path(row["tournament_id"], row["match_id"], row["member_id"]), row)
                                     for row in chunk])

    # member writes

    def submit_guess(self, tournament_id: str, match_id: str, member_id: str, home_goals: int,
                     away_goals: int) -> Guess:
        """A new revision, on the store's clock; refused once the match kicked off."""
        def submit(tx: Transaction) -> Guess:
            match_document = tx.get(match_path(tournament_id, match_id))
            if match_document is None:
                raise GuessRefused(f"no match {match_id!r} in tournament {tournament_id!r}")
            match = Match.from_document(match_document.data)
            now = self.documents.now()
            if match.status == "ended" or now >= match.kickoff:
                raise GuessRefused(f"match {match_id} kicked off at {match.kickoff.isoformat()}: guesses are closed")
            existing = tx.get(guess_path(tournament_id, match_id, member_id))
            revisions = Guess.from_document(existing.data).revisions if existing else []
            revision = GuessRevision(home_goals=home_goals, away_goals=away_goals, submitted_at=now)
            guess = Guess(tournament_id=tournament_id, match_id=match_id, member_id=member_id,
                          revisions=[*revisions, revision])
            tx.set(guess_path(tournament_id, match_id, member_id), guess.to_document())
            return guess
        return self.documents.run_transaction(submit)

    def record_result(self, tournament_id: str, match_id: str, home_goals: int, away_goals: int,
                      *, status_timestamp: datetime | None = None) -> Match:
        """open -> ended with the final score; the status timestamp names the settlement."""
        path = match_path(tournament_id, match_id)

        def end(tx: Transaction) -> Match:
            document = tx.get(path)
            if document is None:
                raise LookupError(f"no match {match_id!r} in tournament {tournament_id!r}")
            changes = {"status": "ended", "home_goals": home_goals, "away_goals": away_goals,
                       "status_timestamp": status_timestamp or self.documents.now()}
            tx.update(path, changes)
            return Match.from_document({**document.data, **changes})
        return self.documents.run_transaction(end)

    # reads

    def tournament(self, tournament_id: str) -> Tournament:
        document = self.documents.get(tournament_path(tournament_id))
        if document is None:
            raise LookupError(f"no tournament {tournament_id!r}")
        return Tournament.from_document(document.data)

    def standings_version(self, tournament_id: str) -> int:
        document = self.documents.get(tournament_path(tournament_id))
        return document.data.get("standings_version", 0) if document else 0

    def match(self, tournament_id: str, match_id: str) -> Match:
        document = self.documents.get(match_path(tournament_id, match_id))
        if document is None:
            raise LookupError(f"no match {match_id!r} in tournament {tournament_id!r}")
        return Match.from_document(document.data)

    def round(self, tournament_id: str, round_id: str) -> Round:
        document = self.documents.get(round_path(tournament_id, round_id))
        if document is None:
            raise LookupError(f"no round {round_id!r} in tournament {tournament_id!r}")
        return Round.from_document(document.data)

    def guesses_for(self, tournament_id: str, match_id: str) -> list[Guess]:
        documents = self.documents.query(guesses_collection(tournament_id, match_id))
        return [Guess.from_document(d.data) for d in documents]

    def counting_guesses(self, match: Match) -> Iterator[tuple[str, tuple[int, int]]]:
        """(member, (home, away)) of each member's last revision before kickoff. Reads the stored
        rows without building a model per revision: settlement reads 10,000 of them at once."""
        for document in self.documents.query(guesses_collection(match.tournament_id, match.match_id)):
            before = [r for r in document.data["revisions"] if r["submitted_at"] < match.kickoff]
            if before:
                last = max(before, key=lambda r: r["submitted_at"])
                yield document.data["member_id"], (last["home_goals"], last["away_goals"])

    def standings(self, tournament_id: str) -> list[Standing]:
        # rows were validated when written; a board of 10,000 is rebuilt on every settlement
        fields = Standing.model_fields
        return [Standing.model_construct(**{k: v for k, v in d.data.items() if k in fields})
                for d in self.documents.query(standings_collection(tournament_id))]

    def league(self, league_id: str) -> League:
        document = self.documents.get(league_path(league_id))
        if document is None:
            raise LookupError(f"no league {league_id!r}")
        return League.from_document(document.data)

    def league_member_ids(self, league_id: str) -> list[str]:
        return [d.id for d in self.documents.query(league_members_collection(league_id))]


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
