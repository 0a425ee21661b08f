"""The review queue and human overrides.

A decision routed to review opens `validation_reviews/{decision}`. A person decides it with a
reason; every human action is itself an evidence record (who, when, why, before, after), stored
create-only and appended to the evidence log, and an override document beside — never instead of
— the original decision, which is never edited or deleted. The effective outcome of a decision is
its latest override's, else its own.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from shared.evidence_log.log import EvidenceLog, canonical_json
from shared.ports.documents import DocumentStore, is_document_id
from shared.ports.evidence import EvidenceStore
from shared.validation import records

HUMAN_ACTION_RETENTION = records.EVIDENCE_RETENTION
OUTCOMES = ("met", "not_met")


class ReviewError(ValueError):
    pass


@dataclass
class ReviewQueue:
    documents: DocumentStore
    evidence: EvidenceStore
    log: EvidenceLog

    def list(self, status: str = "open") -> list[dict]:
        docs = self.documents.query(records.REVIEWS, [("status", "==", status)]) if status != "all" \
            else self.documents.query(records.REVIEWS)
        return sorted((doc.data for doc in docs), key=lambda d: d["decision_key"])

    def decide(self, decision_key: str, outcome: str, *, reason: str, actor: str) -> dict:
        """Record a person's decision (or override of an automatic one); the action record."""
        if outcome not in OUTCOMES:
            raise ReviewError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        if not reason.strip():
            raise ReviewError("a reason is required: say why (it is kept with the evidence)")
        if not actor.strip():
            raise ReviewError("who decides is required (--by)")
        decision = self.documents.get(f"{records.DECISIONS}/{decision_key}") if is_document_id(decision_key) else None
        if decision is None:
            raise ReviewError(f"no decision {decision_key!r}: see `sportsflow validation review list`")
        now = self.documents.now()
        action_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        before = self.effective(decision_key)
        action = {
            "kind": "human-override", "format": 1, "action_id": action_id, "decision_key": decision_key,
            "actor": actor, "at": now.isoformat(), "reason": reason,
            "before": before, "after": {"outcome": outcome},
            "original": {"outcome": decision.data["outcome"], "evidence_key": decision.data["evidence_key"],
                         "evidence_sha256": decision.data["evidence_sha256"]},
        }
        key = records.override_evidence_key(decision_key, action_id)
        stored = self.evidence.put(key, canonical_json(action), retain_until=now + HUMAN_ACTION_RETENTION,
                                   metadata={"actor": actor[:200].encode("ascii", "replace").decode()})
        review_path = f"{records.REVIEWS}/{decision_key}"

        def record(tx) -> dict:
            review = tx.get(review_path)
            index = self.log.append(tx, key, stored.sha256)
            override = {**action, "evidence_key": key, "evidence_sha256": stored.sha256, "log_index": index}
            tx.create(f"{records.OVERRIDES}/{decision_key}__{action_id}", override)
            if review is not None:
                tx.update(review_path, {"status": "decided", "decided_by": actor, "decided_at": now.isoformat(),
                                        "outcome": outcome})
            return override

        return self.documents.run_transaction(record)

    def overrides(self, decision_key: str) -> list[dict]:
        docs = self.documents.query(records.OVERRIDES, [("decision_key", "==", decision_key)])
        return sorted((doc.data for doc in docs), key=lambda d: d["log_index"])  # the log orders actions

    def effective(self, decision_key: str) -> dict:
        overrides = self.overrides(decision_key)
        if overrides:
            last = overrides[-1]
            return {"outcome": last["after"]["outcome"], "by": last["actor"], "action_id": last["action_id"]}
        decision = self.documents.get(f"{records.DECISIONS}/{decision_key}")
        return {"outcome": decision.data["outcome"], "by": "consensus"} if decision else {}


__all__ = ["ReviewQueue", "ReviewError", "timedelta"]
