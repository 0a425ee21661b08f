"""The idempotency ledger (SPEC §4, seed 002 §7.3): one outcome per deterministic key.

An outcome is `idempotency/{key}`: key, first_applied_at (store clock), execution_id, the
checksum of the effect, status (`applying` until the effect is fully applied, then `applied`).

- `claim(key, checksum, execution_id)` in one transaction: the first caller records the key
  (`applying`) and applies; a replay with the same checksum of an `applied` key is a no-op that
  reports the original outcome; one of an `applying` key resumes it (the effect's own parts are
  idempotent — a crash half-way is finished by the redelivery, never doubled); a replay whose
  checksum differs is *flagged* (recorded under `idempotency/{key}/mismatches`, counted on the
  outcome) and never applied.
- `mark_applied(key, summary)` closes the outcome once the whole effect is in.

Keys are free text (`settlement:{matchId}:{matchStatusTimestamp}`); the document id is a
hash of the key, since ids cannot hold '/'.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Mapping

from shared.ports.documents import DocumentStore, Transaction

LEDGER = "idempotency"
APPLYING = "applying"
APPLIED = "applied"

Decision = Literal["apply", "resume", "duplicate", "mismatch"]


def settlement_key(match_id: str, match_status_timestamp: datetime | str) -> str:
    stamp = match_status_timestamp.isoformat() if isinstance(match_status_timestamp, datetime) \
        else match_status_timestamp
    return f"settlement:{match_id}:{stamp}"


def ingestion_key(operation: str, entity_id: str, snapshot_version: str) -> str:
    return f"ingestion:{operation}:{entity_id}:{snapshot_version}"


def checksum_of(effect: Any) -> str:
    """SHA-256 of the effect's canonical JSON (sorted keys): equal effects, equal checksums."""
    text = json.dumps(effect, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def outcome_path(key: str) -> str:
    return f"{LEDGER}/{hashlib.sha256(key.encode()).hexdigest()[:40]}"


@dataclass(frozen=True)
class Outcome:
    key: str
    first_applied_at: datetime
    execution_id: str
    checksum: str
    status: str
    mismatches: int
    summary: dict[str, Any]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> "Outcome":
        return cls(key=data["key"], first_applied_at=data["first_applied_at"], execution_id=data["execution_id"],
                   checksum=data["checksum"], status=data["status"], mismatches=data.get("mismatches", 0),
                   summary=dict(data.get("summary") or {}))


@dataclass(frozen=True)
class Claim:
    decision: Decision
    outcome: Outcome

    @property
    def should_apply(self) -> bool:
        return self.decision in ("apply", "resume")


class IdempotencyLedger:
    def __init__(self, documents: DocumentStore):
        self._documents = documents

    def claim(self, key: str, checksum: str, execution_id: str, *, detail: Mapping[str, Any] | None = None) -> Claim:
        path = outcome_path(key)

        def decide(tx: Transaction) -> Claim:
            existing = tx.get(path)
            now = self._documents.now()
            if existing is None:
                data = {"key": key, "first_applied_at": now, "execution_id": execution_id, "checksum": checksum,
                        "status": APPLYING, "mismatches": 0, "summary": {}}
                tx.create(path, data)
                return Claim("apply", Outcome.from_data(data))
            outcome = Outcome.from_data(existing.data)
            if outcome.checksum != checksum:
                tx.update(path, {"mismatches": outcome.mismatches + 1})
                tx.create(f"{path}/mismatches/{outcome.mismatches + 1:06d}",
                          {"at": now, "execution_id": execution_id, "checksum": checksum,
                           "expected_checksum": outcome.checksum, "detail": dict(detail or {})})
                return Claim("mismatch", Outcome.from_data({**existing.data, "mismatches": outcome.mismatches + 1}))
            return Claim("duplicate" if outcome.status == APPLIED else "resume", outcome)
        return self._documents.run_transaction(decide)

    def mark_applied(self, key: str, summary: Mapping[str, Any] | None = None) -> Outcome:
        path = outcome_path(key)

        def close(tx: Transaction) -> Outcome:
            existing = tx.get(path)
            if existing is None:
                raise LookupError(f"no idempotency outcome for {key!r}: claim it first")
            if existing.data["status"] == APPLIED:
                return Outcome.from_data(existing.data)
            changes = {"status": APPLIED, "applied_at": self._documents.now(), "summary": dict(summary or {})}
            tx.update(path, changes)
            return Outcome.from_data({**existing.data, **changes})
        return self._documents.run_transaction(close)

    def get(self, key: str) -> Outcome | None:
        document = self._documents.get(outcome_path(key))
        return Outcome.from_data(document.data) if document else None

    def mismatches(self, key: str) -> list[dict[str, Any]]:
        return [d.data for d in self._documents.query(f"{outcome_path(key)}/mismatches")]
