"""The match documents in the document store: the only code that reads or writes `live_matches`.

Provider writes run `transitions.decide` inside a store transaction (read, decide, write
atomically), so 32 concurrent writers of one match can never let an older
`provider_update_time` win. The minute engine writes with `update(expected_version=...)`: a
document changed since it was read (a provider write landed) is re-read, never overwritten.
Times come from `documents.now()`, the store's clock, as UTC Unix seconds.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

from shared.live.minute import Minute
from shared.live.model import COLLECTION, LiveProviderUpdate, MatchState, match_path
from shared.live.status import LIVE
from shared.live.transitions import Decision, Verdict, decide
from shared.ports.documents import AlreadyExists, Document, DocumentStore, PreconditionFailed

log = logging.getLogger("sportsflow.live.store")
MINUTE_FIELDS = frozenset({"minute", "minute_text", "last_minute_update_ts"})


class UnknownMatch(LookupError):
    """A provider write for a match the diary sync never created (invariant 14: nothing else creates)."""


@dataclass(frozen=True)
class WriteOutcome:
    match_id: str
    verdict: Verdict
    status_id: int
    provider_update_time: int | None


class MatchStore:
    def __init__(self, documents: DocumentStore):
        self.documents = documents

    def now(self) -> int:
        """The store's clock in UTC Unix seconds."""
        return int(self.documents.now().timestamp())

    # --- reads ---------------------------------------------------------------------------
    def get(self, match_id: str) -> dict[str, Any] | None:
        doc = self.documents.get(match_path(match_id))
        return doc.data if doc else None

    def live_documents(self, statuses: Sequence[int] = tuple(sorted(LIVE))) -> list[Document]:
        return self.documents.query(COLLECTION, [("status_id", "in", list(statuses))])

    def not_started_since(self, earliest: int, latest: int) -> list[dict[str, Any]]:
        """Not-started matches whose match_time lies in [earliest, latest]."""
        return [d.data for d in self.documents.query(
            COLLECTION, [("status_id", "==", 1), ("match_time", ">=", earliest), ("match_time", "<=", latest)])]

    def of_diary_date(self, day: str) -> list[dict[str, Any]]:
        return [d.data for d in self.documents.query(COLLECTION, [("diary_date", "==", day)], order_by="match_time")]

    # --- writes --------------------------------------------------------------------------
    def create(self, match: MatchState) -> bool:
        """The diary sync's write: create if absent; an existing match is never overwritten."""
        try:
            return self.documents.create(match.path, match.model_dump())
        except AlreadyExists:
            return False

    def apply(self, update: LiveProviderUpdate) -> WriteOutcome:
        """A provider write through the transition rule, atomically. Raises UnknownMatch."""
        path = match_path(update.match_id)

        def attempt(tx) -> tuple[Decision, dict[str, Any]]:
            doc = tx.get(path)
            if doc is None:
                raise UnknownMatch(update.match_id)
            decision = decide(doc.data, update, self.now())
            if decision.accepted:
                tx.update(path, decision.changes)
            return decision, doc.data

        decision, stored = self.documents.run_transaction(attempt, max_attempts=20)
        final = stored | decision.changes
        return WriteOutcome(update.match_id, decision.verdict, final["status_id"], final.get("provider_update_time"))

    def write_minute(self, doc: Document, shown: Minute, now: int) -> bool:
        """The minute engine's only write; False when the document changed since `doc` was read."""
        changes = {"minute": shown.minute, "minute_text": shown.text, "last_minute_update_ts": now}
        try:
            self.documents.update(doc.path, changes, expected_version=doc.version)
        except PreconditionFailed:
            return False
        return True

    def reread(self, doc: Document) -> Document | None:
        return self.documents.get(doc.path)
