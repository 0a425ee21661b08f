"""Leaderboards (tournament and league) as projections of the standings, rebuildable at any time.

Order and ties (documented, deterministic): members are ordered by points (high first), then
by exact scores (more first), then by member id (ascending). The rank is *dense* on points:
members with equal points share a rank, and the next lower points get the next rank (10, 10, 7
-> 1, 1, 2), whatever their exact scores.

A projection is a head document `leaderboards/{board}` naming its current *generation* and the
source version it was built from (the tournament's `standings_version`, which every settled
batch bumps, and for a league its `members_version`), plus the generation's pages
`leaderboards/{board}/generations/{g}/pages/{n}` of 500 entries each. A rebuild reads the
version first, then the standings (so a projection never claims to be newer than its data),
writes a new generation, then flips the head in one transaction unless a newer build already
did; old generations are deleted after the flip. A reader therefore never sees half a build.

A read whose projection is missing or whose source version is behind falls back to the
source of truth (degraded: flagged, slower, still correct and in the same order).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable

from shared.ports.documents import DocumentStore, Transaction
from shared.tournaments.model import Standing
from shared.tournaments.store import MAX_WRITES_PER_TRANSACTION, TournamentStore

LEADERBOARDS = "leaderboards"
STORED_PAGE_ENTRIES = 500
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Entry:
    rank: int
    member_id: str
    points: int
    exact_scores: int

    def as_stored(self) -> dict:
        """A page holds a list of these maps (Firestore allows no array directly in an array)."""
        return {"r": self.rank, "m": self.member_id, "p": self.points, "e": self.exact_scores}

    @classmethod
    def from_stored(cls, values: dict) -> "Entry":
        return cls(rank=values["r"], member_id=values["m"], points=values["p"], exact_scores=values["e"])


@dataclass(frozen=True)
class Board:
    """Which leaderboard: a tournament's, or a league's (its members only)."""
    tournament_id: str
    league_id: str | None = None

    @property
    def board_id(self) -> str:
        return f"league__{self.league_id}" if self.league_id else f"tournament__{self.tournament_id}"

    @property
    def head_path(self) -> str:
        return f"{LEADERBOARDS}/{self.board_id}"


@dataclass(frozen=True)
class Page:
    board_id: str
    page: int
    page_size: int
    total: int
    entries: list[Entry]
    degraded: bool = False
    reason: str | None = None
    source_version: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"board": self.board_id, "page": self.page, "page_size": self.page_size, "total": self.total,
                "degraded": self.degraded, "reason": self.reason, "source_version": self.source_version,
                "entries": [e.__dict__ for e in self.entries]}


@dataclass
class CheckResult:
    board_id: str
    ok: bool
    problems: list[str] = field(default_factory=list)


def order_key(standing: Standing) -> tuple:
    return (-standing.points, -standing.exact_scores, standing.member_id)


def rank(standings: Iterable[Standing]) -> list[Entry]:
    """The board's entries: deterministic order, dense rank on points."""
    entries: list[Entry] = []
    current_rank, previous_points = 0, None
    for standing in sorted(standings, key=order_key):
        if standing.points != previous_points:
            current_rank, previous_points = current_rank + 1, standing.points
        entries.append(Entry(current_rank, standing.member_id, standing.points, standing.exact_scores))
    return entries


class Leaderboards:
    def __init__(self, documents: DocumentStore):
        self._documents = documents
        self._store = TournamentStore(documents)

    # source of truth

    def source_version(self, board: Board) -> str:
        version = self._store.standings_version(board.tournament_id)
        if board.league_id:
            league = self._documents.get(f"leagues/{board.league_id}")
            members_version = league.data.get("members_version", 0) if league else 0
            return f"{version:010d}:{members_version:06d}"
        return f"{version:010d}"

    def computed(self, board: Board, standings: list[Standing] | None = None) -> tuple[str, list[Entry]]:
        """(source version, entries) straight from the standings: the version is read first."""
        version = self.source_version(board)
        if standings is None:
            standings = self._store.standings(board.tournament_id)
        if board.league_id:
            members = set(self._store.league_member_ids(board.league_id))
            standings = [s for s in standings if s.member_id in members]
        return version, rank(standings)

    # projection

    def rebuild_all(self, tournament_id: str) -> list[dict[str, Any]]:
        """Every board of the tournament from one read of the standings (after its versions)."""
        boards = self.boards_of(tournament_id)
        versions = {board.board_id: self.source_version(board) for board in boards}
        standings = self._store.standings(tournament_id)
        return [self.rebuild(board, (versions[board.board_id], self.computed(board, standings)[1]))
                for board in boards]

    def rebuild(self, board: Board, computed: tuple[str, list[Entry]] | None = None) -> dict[str, Any]:
        version, entries = computed or self.computed(board)
        generation = f"{version}-{uuid.uuid4().hex[:8]}"
        pages = [entries[i:i + STORED_PAGE_ENTRIES] for i in range(0, len(entries), STORED_PAGE_ENTRIES)] or [[]]
        for start in range(0, len(pages), MAX_WRITES_PER_TRANSACTION):
            def write(tx: Transaction, start=start) -> None:
                for number, page in enumerate(pages[start:start + MAX_WRITES_PER_TRANSACTION], start):
                    tx.set(self._page_path(board, generation, number), {"entries": [e.as_stored() for e in page]})
            self._documents.run_transaction(write)
        flipped, previous = self._flip(board, generation, version, len(entries), len(pages))
        self._delete_generation(board, previous if flipped else (generation, len(pages)))
        return {"board": board.board_id, "source_version": version, "entries": len(entries),
                "pages": len(pages), "current": flipped}

    def _flip(self, board: Board, generation: str, version: str, total: int,
              pages: int) -> tuple[bool, tuple[str, int] | None]:
        def flip(tx: Transaction) -> tuple[bool, tuple[str, int] | None]:
            head = tx.get(board.head_path)
            if head is not None and head.data["source_version"] > version:
                return False, None  # a build from newer standings got there first
            tx.set(board.head_path, {"board_id": board.board_id, "tournament_id": board.tournament_id,
                                     "league_id": board.league_id, "generation": generation,
                                     "source_version": version, "entries": total, "pages": pages,
                                     "built_at": self._documents.now()})
            return True, (head.data["generation"], head.data["pages"]) if head is not None else None
        return self._documents.run_transaction(flip)

    def _delete_generation(self, board: Board, generation: tuple[str, int] | None) -> None:
        if generation is None:
            return
        name, pages = generation
        for start in range(0, pages, MAX_WRITES_PER_TRANSACTION):
            def delete(tx: Transaction, start=start) -> None:
                last = min(pages, start + MAX_WRITES_PER_TRANSACTION)
                paths = [self._page_path(board, name, n) for n in range(start, last)]
                for path, page in zip(paths, tx.get_all(paths)):  # one read first, then the deletes
                    if page is not None:
                        tx.delete(path)
            self._documents.run_transaction(delete)

    def _page_path(self, board: Board, generation: str, number: int) -> str:
        return f"{board.head_path}/generations/{generation}/pages/{number:05d}"

    def projected(self, board: Board) -> tuple[dict[str, Any], list[Entry]] | None:
        head = self._documents.get(board.head_path)
        if head is None:
            return None
        paths = [self._page_path(board, head.data["generation"], n) for n in range(head.data["pages"])]
        entries: list[Entry] = []
        for page in self._documents.get_all(paths):
            entries.extend(Entry.from_stored(values) for values in (page.data["entries"] if page else []))
        return head.data, entries

    # reads

    def read(self, board: Board, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE) -> Page:
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page must be >= 1 and page_size between 1 and {MAX_PAGE_SIZE}")
        current = self.source_version(board)
        head = self._documents.get(board.head_path)
        if head is None:
            return self._degraded(board, page, page_size, "the projection is missing")
        if head.data["source_version"] != current:
            return self._degraded(board, page, page_size,
                                  f"the projection is stale (built from {head.data['source_version']}, "
                                  f"standings at {current})")
        start = (page - 1) * page_size
        end = min(start + page_size, head.data["entries"])
        entries: list[Entry] = []
        for number in range(start // STORED_PAGE_ENTRIES, (max(end, start + 1) - 1) // STORED_PAGE_ENTRIES + 1):
            stored = self._documents.get(self._page_path(board, head.data["generation"], number))
            if stored is None:  # the generation was replaced between our two reads
                return self._degraded(board, page, page_size, "the projection changed while it was read")
            offset = number * STORED_PAGE_ENTRIES
            for index, values in enumerate(stored.data["entries"], offset):
                if start <= index < end:
                    entries.append(Entry.from_stored(values))
        return Page(board.board_id, page, page_size, head.data["entries"], entries, source_version=current)

    def _degraded(self, board: Board, page: int, page_size: int, reason: str) -> Page:
        version, entries = self.computed(board)
        start = (page - 1) * page_size
        return Page(board.board_id, page, page_size, len(entries), entries[start:start + page_size],
                    degraded=True, reason=reason, source_version=version)

    def check(self, board: Board) -> CheckResult:
        """The projection equals a rebuild from the standings, and is built from the current version."""
        result = CheckResult(board.board_id, ok=True)
        version, expected = self.computed(board)
        projected = self.projected(board)
        if projected is None:
            result.problems.append("no projection: run `sportsflow leaderboard rebuild`")
        else:
            head, entries = projected
            if head["source_version"] != version:
                result.problems.append(f"stale: built from {head['source_version']}, standings at {version}")
            if entries != expected:
                differing = next((i for i, (a, b) in enumerate(zip(entries, expected)) if a != b),
                                 min(len(entries), len(expected)))
                result.problems.append(f"{len(entries)} projected vs {len(expected)} computed entries; "
                                       f"first difference at position {differing + 1}")
        result.ok = not result.problems
        return result

    def boards_of(self, tournament_id: str) -> list[Board]:
        """The tournament's board and every league board on it."""
        leagues = self._documents.query("leagues", [("tournament_id", "==", tournament_id)])
        return [Board(tournament_id)] + [Board(tournament_id, d.id) for d in leagues]
