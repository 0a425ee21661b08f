"""FanInLedger: what has completed for a date, and which triggers were claimed.

No hot document (EMULATORS.md: contended transactions on one Firestore document stall and
fail). Each completed part is its own document, created if absent:

    fanin/{date}/parts/{part}        one per completed processor (duplicates are no-ops)
    fanin/{date}/claims/{target}     one per trigger, created exactly once (the claim)

A claim records who won it (the completion's stable message id) and whether its message
was published. Publishing needs the claim's publish lease: its creator holds it from the
start; a failed publish releases it and raises, so the winner's redelivery takes it and
publishes; a crashed publisher's lease expires. Concurrent duplicate deliveries of the
winning message cannot both publish, because only one holds the lease. A claim left
unpublished longer than `stale_after` may be published by anyone (the winner's message was
lost for good). Claiming is exactly-once; publishing is exactly-once unless a publisher
crashes after Pub/Sub accepted the message and before marking it, and every trigger
consumer is idempotent for that case.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Iterable

from shared.contracts.envelope import utc_now
from shared.ports.documents import DocumentStore

DEFAULT_STALE_AFTER = timedelta(minutes=10)
# Longer than a publish can take (the Pub/Sub client gives up after 60 s); a crashed
# publisher's lease runs out, then its redelivery or a stale-claim recovery publishes.
PUBLISH_LEASE = timedelta(seconds=90)


@dataclass(frozen=True)
class Claim:
    claim_id: str
    published: bool
    won_now: bool  # this call created the claim (and holds its publish lease)


class FanInLedger:
    def __init__(self, documents: DocumentStore, *, clock: Callable[[], datetime] = utc_now):
        self._documents = documents
        self._clock = clock

    # --- parts -----------------------------------------------------------------------
    def record_part(self, day: date, part: str, *, message_id: str, orchestrator: str) -> bool:
        """True if this call recorded the part; False if it was already recorded."""
        return self._documents.create(_part_path(day, part), {
            "part": part, "analysis_date": day.isoformat(), "message_id": message_id,
            "orchestrator": orchestrator, "recorded_at": self._clock()})

    def parts_done(self, day: date, parts: Iterable[str]) -> set[str]:
        return {part for part in parts if self._documents.get(_part_path(day, part)) is not None}

    def parts(self, day: date) -> dict[str, dict]:
        return {doc.id: doc.data for doc in self._documents.query(f"fanin/{day.isoformat()}/parts")}

    # --- claims ------------------------------------------------------------------------
    def claim(self, day: date, target: str, *, orchestrator: str, claimant: str, attempt: str) -> Claim:
        """Create the claim if absent. Its creator also holds the publish lease (as `attempt`)."""
        path = _claim_path(day, target)
        now = self._clock()
        won = self._documents.create(path, {
            "target": target, "analysis_date": day.isoformat(), "claim_id": uuid.uuid4().hex,
            "orchestrator": orchestrator, "claimant": claimant, "claimed_at": now,
            "published": False, "published_message_id": None, "published_at": None,
            "lease_holder": attempt, "lease_until": now + PUBLISH_LEASE})
        data = self._documents.get(path).data
        return Claim(claim_id=data["claim_id"], published=bool(data["published"]), won_now=won)

    def take_publish_lease(self, day: date, target: str, *, claimant: str, attempt: str,
                           stale_after: timedelta) -> bool:
        """The right to publish an unpublished claim: for its claimant's redelivery, or for
        anyone once the claim is stale — and only while no other attempt holds a live lease
        (two concurrent deliveries of one message must not both publish)."""
        path = _claim_path(day, target)

        def take(tx) -> bool:
            data = tx.get(path).data
            now = self._clock()
            lease_live = data["lease_holder"] not in (None, attempt) and data["lease_until"] > now
            entitled = data["claimant"] == claimant or now - data["claimed_at"] > stale_after
            if data["published"] or lease_live or not entitled:
                return False
            tx.update(path, {"lease_holder": attempt, "lease_until": now + PUBLISH_LEASE})
            return True

        return self._documents.run_transaction(take)

    def release_publish_lease(self, day: date, target: str, *, attempt: str) -> None:
        """After a failed publish, so the redelivery can take over at once."""
        path = _claim_path(day, target)

        def release(tx) -> None:
            if tx.get(path).data["lease_holder"] == attempt:
                tx.update(path, {"lease_holder": None, "lease_until": None})

        self._documents.run_transaction(release)

    def mark_published(self, day: date, target: str, message_id: str) -> None:
        self._documents.update(_claim_path(day, target), {
            "published": True, "published_message_id": message_id, "published_at": self._clock(),
            "lease_holder": None, "lease_until": None})

    def claims(self, day: date) -> dict[str, dict]:
        return {doc.data["target"]: doc.data for doc in self._documents.query(f"fanin/{day.isoformat()}/claims")}

    def now(self) -> datetime:
        return self._clock()


def _part_path(day: date, part: str) -> str:
    return f"fanin/{day.isoformat()}/parts/{part}"


def _claim_path(day: date, target: str) -> str:
    # Targets may contain '/' (e.g. "phase4/player_composite_factors"): keep one path segment.
    return f"fanin/{day.isoformat()}/claims/{target.replace('/', '__')}"
