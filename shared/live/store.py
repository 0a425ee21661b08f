"""The match documents in the document store: the only code that reads or writes `live_matches`.

Provider writes run `transitions.decide` under an optimistic lock (read, decide, write with
the read version as precondition, re-decide on conflict), so 32 concurrent writers of one
match can never let an older `provider_update_time` win. The minute engine writes with `update(expected_version=...)`: a
document changed since it was read (a provider write landed) is re-read, never overwritten.
Times come from `documents.now()`, the store's clock, as UTC Unix seconds.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Sequence

from shared.live.minute import Minute
from shared.live.model import COLLECTION, LiveProviderUpdate, MatchState, match_path
from shared.live.status import LIVE
from shared.live.transitions import Decision, Verdict, decide
from shared.ports.documents import AlreadyExists, Document, DocumentStore, PreconditionFailed

log = logging.getLogger("sportsflow.live.store")
MINUTE_FIELDS = frozenset({"minute", "minute_text", "last_minute_update_ts"})
MAX_WRITE_ATTEMPTS = 50


class WriteContention(RuntimeError):
    """Lost the optimistic-lock race too often in a row (transient: redelivery decides again)."""


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
        """A provider write through the transition rule, as an optimistic lock: read, decide, write
        with the read version as precondition; a concurrent write in between means re-read and decide
        again (so an older update that lost the race is then rejected). Raises UnknownMatch."""
        path = match_path(update.match_id)
        for attempt in range(MAX_WRITE_ATTEMPTS):
            doc = self.documents.get(path)
            if doc is None:
                raise UnknownMatch(update.match_id)
            decision = decide(doc.data, update, self.now())
            if not decision.accepted:
                return self._outcome(update, decision, doc.data)
            try:
                self.documents.update(path, decision.changes, expected_version=doc.version)
            except PreconditionFailed:
                time.sleep(random.uniform(0, min(0.2, 0.005 * 2 ** attempt)))
                continue
            return self._outcome(update, decision, doc.data)
        raise WriteContention(f"{path}: {MAX_WRITE_ATTEMPTS} concurrent writes in a row won the race; "
                              "the message is redelivered and decided again")

    @staticmethod
    def _outcome(update: LiveProviderUpdate, decision: Decision, stored: dict[str, Any]) -> WriteOutcome:
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
