"""A generic dependency orchestrator: each trigger fires exactly once per date and input
version when every part it waits for has completed. The rules come from the topology."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable

from shared.contracts.envelope import Message
from shared.orchestration.fan_in import DEFAULT_STALE_AFTER, FanInLedger, PartOutcome
from shared.ports.documents import DocumentStore
from shared.runtime import crash_points
from shared.runtime.errors import PermanentError, TransientError

log = logging.getLogger("sportsflow.orchestration")
Publish = Callable[[str, Message], str]


class ClaimNotYetPublished(TransientError):
    """This message won a claim that is not yet published: it must not be acknowledged until
    the claim is (its redelivery takes the publish lease once the crashed publisher's expires)."""


@dataclass(frozen=True)
class TriggerRule:
    """Fire `target` (publish build(...) on `topic`) once all of `waits_for` are complete,
    once per value of `inputs` (the fingerprint of what the target would read)."""
    target: str
    waits_for: frozenset[str]
    topic: str
    build: Callable[[date, str, Any], Message] = field(compare=False)
    inputs: Callable[[date, DocumentStore], str] = field(compare=False)


@dataclass(frozen=True)
class Evaluation:
    recorded: bool
    published: tuple[str, ...]
    waiting: dict[str, tuple[str, ...]]
    done: frozenset[str] | None = None  # the parts complete for the date (read when a new part was recorded)


class DependencyOrchestrator:
    def __init__(self, name: str, rules: tuple[TriggerRule, ...], ledger: FanInLedger, documents: DocumentStore, *,
                 stale_after: timedelta = DEFAULT_STALE_AFTER):
        self.name = name
        self.rules = rules
        self.ledger = ledger
        self.documents = documents
        self.stale_after = stale_after
        self.parts = frozenset().union(*(rule.waits_for for rule in rules))

    def on_completion(self, part: str, day: date, outcome: PartOutcome, *, claimant: str, publish: Publish,
                      services: Any = None, fire: bool = True) -> Evaluation:
        """Record `part`'s outcome for `day`, then fire every rule it completes (unless
        fire=False: the date is held by the backfill switch, shared.pipeline.holds)."""
        if part not in self.parts:
            raise PermanentError(f"{self.name} waits for no part named {part!r}; known: {sorted(self.parts)}")
        recorded = self.ledger.record_part(day, part, outcome, message_id=claimant, orchestrator=self.name)
        rules = [r for r in self.rules if part in r.waits_for] if fire and outcome.succeeded else []
        done = self.ledger.parts_done(day, self.parts) if rules or recorded else None
        return self._evaluate(rules, day, claimant, publish, services, recorded, done)

    def evaluate(self, day: date, *, claimant: str, publish: Publish, services: Any = None) -> Evaluation:
        """Fire whatever is ready for `day` on its current inputs (a release, stale dates)."""
        return self._evaluate(list(self.rules), day, claimant, publish, services, recorded=False)

    def fire_ready(self, rules: tuple[TriggerRule, ...], day: date, *, claimant: str, publish: Publish,
                   services: Any = None) -> Evaluation:
        """Fire those of `rules` that are ready (the reconciler, for fan-ins left unclaimed)."""
        return self._evaluate(list(rules), day, claimant, publish, services, recorded=False)

    def _evaluate(self, rules, day, claimant, publish, services, recorded, done=None) -> Evaluation:
        published, waiting = [], {}
        if done is None and rules:
            done = self.ledger.parts_done(day, self.parts)
        for rule in rules:
            missing = rule.waits_for - (done or set())
            if missing:
                waiting[rule.target] = tuple(sorted(missing))
            elif self._fire(rule, day, claimant, publish, services):
                published.append(rule.target)
        return Evaluation(recorded=recorded, published=tuple(published), waiting=waiting,
                          done=frozenset(done) if done is not None else None)

    def _fire(self, rule: TriggerRule, day: date, claimant: str, publish: Publish, services: Any) -> bool:
        attempt = uuid.uuid4().hex
        inputs = rule.inputs(day, self.documents)
        claim = self.ledger.claim(day, rule.target, inputs, orchestrator=self.name, claimant=claimant,
                                  attempt=attempt)
        if claim.published:
            return False
        if not claim.won_now and not self.ledger.take_publish_lease(
                day, rule.target, inputs, claimant=claimant, attempt=attempt, stale_after=self.stale_after):
            if claim.claimant == claimant:
                raise ClaimNotYetPublished(f"{rule.target} {day}: claimed by this message, not yet published; "
                                           "retrying until it is")
            return False  # another message won it; its delivery is not acknowledged until it publishes
        crash_points.crash_point(crash_points.FANIN_CLAIMED, target=rule.target)
        publish_claim(self.ledger, rule, day, inputs, claim.claim_id, attempt=attempt, publish=publish,
                      services=services)
        log.info("trigger published", extra={"fields": {"orchestrator": self.name, "target": rule.target,
                                                         "analysis_date": day.isoformat(), "inputs": inputs,
                                                         "claim_id": claim.claim_id, "won_now": claim.won_now}})
        return True


def publish_claim(ledger: FanInLedger, rule: TriggerRule, day: date, inputs: str, claim_id: str, *, attempt: str,
                  publish: Publish, services: Any) -> str:
    """Publish a claim's trigger under the publish lease `attempt` holds, then mark the claim
    published; a failed publish releases the lease (so a redelivery can take over) and raises."""
    try:
        message_id = publish(rule.topic, rule.build(day, claim_id, services))
    except Exception:
        ledger.release_publish_lease(day, rule.target, inputs, attempt=attempt)
        raise
    ledger.mark_published(day, rule.target, inputs, message_id)
    return message_id
