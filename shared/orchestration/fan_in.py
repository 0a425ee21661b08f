"""FanInLedger: what has completed for a date, and which triggers were claimed, per version.

No hot document (EMULATORS.md: contended transactions on one Firestore document stall and
fail). Each part and each claim is its own document:

    fanin/{date}/parts/{part}                the latest outcome of a processor for the date
    fanin/{date}/claims/{target}__{inputs}   one per trigger *and input fingerprint*
    fanin_dates/{date}                       an index of dates, for the reconciler

A part keeps the outcome with the highest fencing token (a run's token grows with every
run of that processor on that date), so a late duplicate of an older completion never
regresses it; a failed outcome keeps its reason.

A claim is created exactly once per (target, input fingerprint): the same inputs never
trigger twice, a correction (new data versions upstream) claims anew. Publishing needs the
claim's publish lease, measured on the document store's clock: its creator holds it from the
start; a failed publish releases it and raises; a crashed publisher's lease expires. The
claimant's own redelivery must not be acknowledged until the claim is published (the
orchestrator raises TransientError), so a kill between claim and publish never loses the
trigger. A claim unpublished for longer than `stale_after` may be published by anyone (the
reconciler). A publish that times out after Pub/Sub accepted it can still be published a
second time: the trigger carries the claim id and every consumer dedupes on it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.ports.documents import DocumentStore

DEFAULT_STALE_AFTER = timedelta(minutes=10)
# Longer than a publish can take (the Pub/Sub client gives up after 60 s); a crashed
# publisher's lease runs out, then its redelivery or the reconciler publishes.
PUBLISH_LEASE = timedelta(seconds=90)
DATES = "fanin_dates"


@dataclass(frozen=True)
class Claim:
    claim_id: str
    published: bool
    won_now: bool  # this call created the claim (and holds its publish lease)
    claimant: str


@dataclass(frozen=True)
class PartOutcome:
    succeeded: bool
    data_version: str | None = None
    fence: int = 0
    error: str | None = None


class FanInLedger:
    def __init__(self, documents: DocumentStore):
        self._documents = documents
        self._indexed: set[str] = set()

    # --- parts -----------------------------------------------------------------------
    def record_part(self, day: date, part: str, outcome: PartOutcome, *, message_id: str, orchestrator: str
                    ) -> bool:
        """True if this call changed the part (a newer outcome); False for a duplicate or an older one."""
        self._index(day)
        path = part_path(day, part)

        def record(tx) -> bool:
            current = tx.get(path)
            if current is not None and int(current.data.get("fence", 0)) >= outcome.fence:
                return False
            tx.set(path, {"part": part, "analysis_date": day.isoformat(), "message_id": message_id,
                          "orchestrator": orchestrator, "recorded_at": self._documents.now(),
                          "succeeded": outcome.succeeded, "data_version": outcome.data_version,
                          "fence": outcome.fence, "error": outcome.error})
            return True

        return self._documents.run_transaction(record)

    def parts(self, day: date) -> dict[str, dict]:
        return {doc.id: doc.data for doc in self._documents.query(f"fanin/{day.isoformat()}/parts")}

    def parts_done(self, day: date, parts: frozenset[str] | set[str]) -> set[str]:
        return {name for name, data in self.parts(day).items() if name in parts and data.get("succeeded", True)}

    def dates(self, since: date | None = None) -> list[date]:
        filters = [("date", ">=", since.isoformat())] if since else []
        return [date.fromisoformat(doc.data["date"]) for doc in self._documents.query(DATES, filters)]

    def _index(self, day: date) -> None:
        if day.isoformat() not in self._indexed:
            self._documents.create(f"{DATES}/{day.isoformat()}", {"date": day.isoformat()})
            self._indexed.add(day.isoformat())

    # --- claims ------------------------------------------------------------------------
    def claim(self, day: date, target: str, inputs: str, *, orchestrator: str, claimant: str, attempt: str) -> Claim:
        """Create the claim if absent. Its creator also holds the publish lease (as `attempt`)."""
        path = _claim_path(day, target, inputs)
        now = self._documents.now()
        won = self._documents.create(path, {
            "target": target, "analysis_date": day.isoformat(), "inputs": inputs,
            "claim_id": claim_id(day, target, inputs), "orchestrator": orchestrator, "claimant": claimant,
            "claimed_at": now, "published": False, "published_message_id": None, "published_at": None,
            "publish_count": 0, "lease_holder": attempt, "lease_until": now + PUBLISH_LEASE})
        data = self._documents.get(path).data
        return Claim(claim_id=data["claim_id"], published=bool(data["published"]), won_now=won,
                     claimant=data["claimant"])

    def take_publish_lease(self, day: date, target: str, inputs: str, *, claimant: str, attempt: str,
                           stale_after: timedelta, holder_is_dead: bool = False) -> bool:
        """The right to publish an unpublished claim: for its claimant's redelivery, or for
        anyone once the claim is stale — and only while no other attempt holds a live lease
        (two concurrent deliveries of one message must not both publish). `holder_is_dead`:
        the caller knows no other process runs (the embedded reconciler between runs)."""
        path = _claim_path(day, target, inputs)

        def take(tx) -> bool:
            data = tx.get(path).data
            now = self._documents.now()
            lease_live = data["lease_holder"] not in (None, attempt) and data["lease_until"] > now \
                and not holder_is_dead
            entitled = data["claimant"] == claimant or now - data["claimed_at"] > stale_after
            if data["published"] or lease_live or not entitled:
                return False
            tx.update(path, {"lease_holder": attempt, "lease_until": now + PUBLISH_LEASE})
            return True

        return self._documents.run_transaction(take)

    def release_publish_lease(self, day: date, target: str, inputs: str, *, attempt: str) -> None:
        """After a failed publish, so the redelivery can take over at once."""
        path = _claim_path(day, target, inputs)

        def release(tx) -> None:
            if tx.get(path).data["lease_holder"] == attempt:
                tx.update(path, {"lease_holder": None, "lease_until": None})

        self._documents.run_transaction(release)

    def mark_published(self, day: date, target: str, inputs: str, message_id: str) -> None:
        path = _claim_path(day, target, inputs)

        def mark(tx) -> None:
            data = tx.get(path).data
            tx.update(path, {"published": True, "published_message_id": message_id,
                             "published_at": self._documents.now(), "publish_count": int(data["publish_count"]) + 1,
                             "lease_holder": None, "lease_until": None})

        self._documents.run_transaction(mark)

    def count_redrive(self, day: date, target: str, inputs: str) -> None:
        """The reconciler delivered this claim's trigger again (bounded per claim)."""
        path = _claim_path(day, target, inputs)
        self._documents.run_transaction(
            lambda tx: tx.update(path, {"redrives": int(tx.get(path).data.get("redrives", 0)) + 1}))

    def claims(self, day: date) -> list[dict[str, Any]]:
        """Every claim of the date, oldest first (a target has one per input fingerprint)."""
        found = [doc.data for doc in self._documents.query(f"fanin/{day.isoformat()}/claims")]
        return sorted(found, key=lambda c: c["claimed_at"])

    def latest_claims(self, day: date) -> dict[str, dict[str, Any]]:
        """target → its most recent claim."""
        return {claim["target"]: claim for claim in self.claims(day)}

    def find_claim(self, day: date, target: str, inputs: str) -> dict[str, Any] | None:
        document = self._documents.get(_claim_path(day, target, inputs))
        return document.data if document else None

    def now(self) -> datetime:
        return self._documents.now()


def claim_id(day: date, target: str, inputs: str) -> str:
    return hashlib.sha256(f"{day.isoformat()}|{target}|{inputs}".encode()).hexdigest()[:24]


def part_path(day: date, part: str) -> str:
    return f"fanin/{day.isoformat()}/parts/{part}"


def _claim_path(day: date, target: str, inputs: str) -> str:
    # Targets may contain '/' (e.g. "phase4/player_composite_factors"): keep one path segment.
    return f"fanin/{day.isoformat()}/claims/{target.replace('/', '__')}__{inputs}"
