"""The validation use case: a `game-final` in, one decision per promotion of the game out.

Per promotion, idempotent per (game, game version, promotion, rule version):

1. the decision already recorded → publish its event again if it never went out, and stop;
2. consensus over the sources' payloads (read back from the evidence the monitor stored, each
   checked against its SHA-256);
3. the evidence record (payload keys and hashes, weights, rule, result) is stored create-only
   with its retain-until date; its bytes are deterministic, so a retry stores the same object
   (the game's records are stored side by side: each put waits on its own fsync or upload);
4. one document transaction records the game's new decisions, appends their records to the
   Merkle log and opens the review items: all of it or nothing;
5. `validation-decided` is published per decision, then the decisions are marked published.

A crash after 3 leaves evidence without a decision (the retry adopts it); after 4, a decision
whose event the retry publishes. No decision is ever recorded without its evidence.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from shared.contracts.envelope import Message
from shared.contracts.validation import GameFinal, ValidationDecided
from shared.evidence_log.log import EvidenceLog, canonical_json
from shared.ports.documents import DocumentStore
from shared.ports.evidence import EvidenceStore
from shared.ports.evidence_rules import integrity_failure, sha256_hex
from shared.runtime.crash_points import crash_point
from shared.validation import records
from shared.validation.consensus import ConsensusPolicy, SourceReport, decide, facts_agree
from shared.validation.reliability import ReliabilityRecorder
from shared.validation.rules import Catalogue, Promotion
from shared.validation.source_payloads import READ, PayloadUnreadable

log = logging.getLogger("sportsflow.validation")
# Evidence puts of one game run side by side: each waits on its own fsync or upload.
_STORE_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="evidence-put")
DECIDED_TOPIC = "validation-decided"
ENGINE = "sportsflow-consensus/1"


@dataclass(frozen=True)
class GameValidation:
    game_id: str
    game_version: int
    decisions: list[dict[str, Any]]
    duration_ms: float
    new_decisions: int


class OutcomeValidator:
    def __init__(self, documents: DocumentStore, evidence: EvidenceStore, log_: EvidenceLog, catalogue: Catalogue,
                 publish: Callable[[str, Message], Any], *, policy: ConsensusPolicy | None = None,
                 reliability: ReliabilityRecorder | None = None) -> None:
        self.documents = documents
        self.evidence = evidence
        self.log = log_
        self.catalogue = catalogue
        self.publish = publish
        self.policy = policy or ConsensusPolicy()
        self.reliability = reliability or ReliabilityRecorder(documents)

    def validate(self, event: GameFinal) -> GameValidation:
        started = time.perf_counter()
        succeeded = False
        try:
            reports = self.reports(event)
            promotions = self.catalogue.for_game(event.home, event.away, event.game_date)
            decisions, new = self._decide_all(event, promotions, reports)
            self.reliability.record_game(event, reports, facts_agree(reports), self.policy)
            succeeded = True
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            self._record_metric(event, duration_ms, succeeded)
        return GameValidation(event.game_id, event.game_version, decisions, duration_ms, new)

    def reports(self, event: GameFinal) -> dict[str, SourceReport]:
        reports = {}
        for observation in event.sources:
            if observation.evidence_key is None:
                reports[observation.source] = SourceReport(observation.source, None, observation.problem)
                continue
            raw = self.evidence.get(observation.evidence_key)
            if sha256_hex(raw) != observation.sha256:
                raise integrity_failure(observation.evidence_key, "payload does not match the SHA-256 in game-final")
            try:
                facts = READ[observation.source](json.loads(raw), event.game_id, event.game_date)
            except (PayloadUnreadable, ValueError, KeyError) as error:
                reports[observation.source] = SourceReport(observation.source, None, f"unreadable payload: {error}")
                continue
            reports[observation.source] = SourceReport(observation.source, facts)
        return reports

    def _decide_all(self, event: GameFinal, promotions: list[Promotion],
                    reports: Mapping[str, SourceReport]) -> tuple[list[dict], int]:
        """Every promotion's decision (recorded now unless it already was) and how many are new."""
        keys = [records.decision_key(event.game_id, event.game_version, p.id, p.version) for p in promotions]
        existing = {key: doc.data for key in keys if (doc := self.documents.get(_path(key))) is not None}
        todo = [(key, p) for key, p in zip(keys, promotions) if key not in existing]
        # Evidence first, all of the game's at once (each put is create-only and durable on its own).
        drafts = list(_STORE_POOL.map(lambda item: self._store_evidence(event, item[1], reports, item[0]), todo))
        if drafts:
            crash_point(records.EVIDENCE_STORED, topic=f"{event.game_id}__v{event.game_version}")
            recorded = self.documents.run_transaction(lambda tx: self._record(tx, drafts))
            existing.update(recorded)
            crash_point(records.DECISION_RECORDED, topic=f"{event.game_id}__v{event.game_version}")
        decisions = [existing[key] for key in keys]
        unannounced = [d for d in decisions if not d.get("published")]
        for decision in unannounced:
            self._announce(decision)
        if unannounced:
            self.documents.run_transaction(lambda tx: self._mark_published(tx, unannounced))
        return decisions, sum(1 for d in drafts if existing[d["decision_key"]]["decision_id"] == d["decision_id"])

    def _store_evidence(self, event: GameFinal, promotion: Promotion, reports: Mapping[str, SourceReport],
                        key: str) -> dict:
        consensus = decide(promotion, reports, self.policy)
        evidence_key = records.decision_evidence_key(event.game_date, event.game_id, event.game_version,
                                                     promotion.id, promotion.version)
        record = self._evidence_record(event, promotion, reports, consensus, key)
        stored = self.evidence.put(evidence_key, canonical_json(record),
                                   retain_until=records.retain_until(event.game_date),
                                   metadata={"decision": key[:200], "outcome": consensus.outcome})
        return {
            "decision_key": key, "decision_id": uuid.uuid4().hex, "game_id": event.game_id,
            "game_date": event.game_date.isoformat(), "game_version": event.game_version,
            "promotion_id": promotion.id, "rule_version": promotion.version, "team": promotion.team,
            "outcome": consensus.outcome, "confidence": consensus.confidence, "reason": consensus.reason,
            "evidence_key": evidence_key, "evidence_sha256": stored.sha256, "synthetic": event.synthetic,
            "published": False,
        }

    def _record(self, tx, drafts: list[dict]) -> dict[str, dict]:
        """One transaction: the decisions not recorded yet, their log leaves and review items."""
        found = {d["decision_key"]: tx.get(_path(d["decision_key"])) for d in drafts}
        fresh = [d for d in drafts if found[d["decision_key"]] is None]  # others: a concurrent delivery won
        indexes = self.log.append_many(tx, [(d["evidence_key"], d["evidence_sha256"]) for d in fresh])
        decided_at = self.documents.now().isoformat()
        recorded = {key: doc.data for key, doc in found.items() if doc is not None}
        for draft, index in zip(fresh, indexes):
            decision = {**draft, "log_index": index, "decided_at": decided_at}
            tx.create(_path(decision["decision_key"]), decision)
            if decision["outcome"] == "review":
                tx.create(f"{records.REVIEWS}/{decision['decision_key']}", {
                    "decision_key": decision["decision_key"], "status": "open", "reason": decision["reason"],
                    "game_id": decision["game_id"], "promotion_id": decision["promotion_id"],
                    "opened_at": decided_at})
            recorded[decision["decision_key"]] = decision
        return recorded

    @staticmethod
    def _mark_published(tx, decisions: list[dict]) -> None:
        current = [(d, tx.get(_path(d["decision_key"]))) for d in decisions]
        for decision, doc in current:
            if doc is not None and not doc.data.get("published"):
                tx.update(_path(decision["decision_key"]), {"published": True})

    def _announce(self, decision: dict) -> None:
        self.publish(DECIDED_TOPIC, ValidationDecided(
            decision_key=decision["decision_key"], game_id=decision["game_id"],
            game_version=decision["game_version"], promotion_id=decision["promotion_id"],
            rule_version=decision["rule_version"], outcome=decision["outcome"], confidence=decision["confidence"],
            evidence_key=decision["evidence_key"], log_index=decision["log_index"],
            synthetic=decision.get("synthetic", False)))

    def _evidence_record(self, event: GameFinal, promotion: Promotion, reports: Mapping[str, SourceReport],
                         consensus, key: str) -> dict:
        return {
            "kind": "validation-decision", "format": 1, "engine": ENGINE, "decision_key": key,
            "game": {"id": event.game_id, "date": event.game_date.isoformat(), "version": event.game_version,
                     "home": event.home, "away": event.away, "observed_at": event.observed_at.isoformat()},
            "sources": [{"source": o.source, "payload_key": o.evidence_key, "payload_sha256": o.sha256,
                         "weight": self.policy.weights.get(o.source), "latency_ms": round(o.latency_ms, 3),
                         "problem": (reports.get(o.source).problem if reports.get(o.source) else o.problem)}
                        for o in sorted(event.sources, key=lambda o: o.source)],
            "weights": self.policy.as_dict(),
            "rule": promotion.model_dump(mode="json"), "rule_sha256": promotion.fingerprint(),
            "result": consensus.as_dict(),
        }

    def _record_metric(self, event: GameFinal, duration_ms: float, succeeded: bool) -> None:
        fields = {"game_id": event.game_id, "game_version": event.game_version,
                  "duration_ms": round(duration_ms, 3), "succeeded": succeeded, "synthetic": event.synthetic}
        (log.info if succeeded else log.error)("validation finished", extra={"fields": fields})
        self.documents.create(f"{records.METRICS}/{event.game_id}__v{event.game_version}__{time.time_ns()}",
                              {**fields, "finished_at": self.documents.now()})


def _path(key: str) -> str:
    return f"{records.DECISIONS}/{key}"
