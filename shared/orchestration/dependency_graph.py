"""A generic dependency orchestrator: each trigger fires exactly once per date when every
part it waits for has completed. The rules come from the topology (see rules.py)."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable

from shared.contracts.envelope import Message
from shared.orchestration.fan_in import DEFAULT_STALE_AFTER, FanInLedger

log = logging.getLogger("sportsflow.orchestration")
Publish = Callable[[str, Message], str]


@dataclass(frozen=True)
class TriggerRule:
    """Fire `target` (publish build(...) on `topic`) once all of `waits_for` are complete."""
    target: str
    waits_for: frozenset[str]
    topic: str
    build: Callable[[date, str, Any], Message] = field(compare=False)


@dataclass(frozen=True)
class Evaluation:
    recorded: bool
    published: tuple[str, ...]
    waiting: dict[str, tuple[str, ...]]


class DependencyOrchestrator:
    def __init__(self, name: str, rules: tuple[TriggerRule, ...], ledger: FanInLedger, *,
                 stale_after: timedelta = DEFAULT_STALE_AFTER):
        self.name = name
        self.rules = rules
        self.ledger = ledger
        self.stale_after = stale_after

    def on_completion(self, part: str, day: date, *, claimant: str, publish: Publish, services: Any = None,
                      fire: bool = True) -> Evaluation:
        """Record `part` for `day`, then fire every rule it completes (unless fire=False:
        the backfill switch records without triggering)."""
        recorded = self.ledger.record_part(day, part, message_id=claimant, orchestrator=self.name)
        rules = [r for r in self.rules if part in r.waits_for] if fire else []
        return self._evaluate(rules, day, claimant, publish, services, recorded)

    def evaluate(self, day: date, *, claimant: str, publish: Publish, services: Any = None) -> Evaluation:
        """Fire whatever is ready for `day` (manual trigger after a backfill, or recovery)."""
        return self._evaluate(list(self.rules), day, claimant, publish, services, recorded=False)

    def _evaluate(self, rules, day, claimant, publish, services, recorded) -> Evaluation:
        published, waiting = [], {}
        for rule in rules:
            missing = rule.waits_for - self.ledger.parts_done(day, rule.waits_for)
            if missing:
                waiting[rule.target] = tuple(sorted(missing))
            elif self._fire(rule, day, claimant, publish, services):
                published.append(rule.target)
        return Evaluation(recorded=recorded, published=tuple(published), waiting=waiting)

    def _fire(self, rule: TriggerRule, day: date, claimant: str, publish: Publish, services: Any) -> bool:
        attempt = uuid.uuid4().hex
        claim = self.ledger.claim(day, rule.target, orchestrator=self.name, claimant=claimant, attempt=attempt)
        if claim.published:
            return False
        if not claim.won_now and not self.ledger.take_publish_lease(
                day, rule.target, claimant=claimant, attempt=attempt, stale_after=self.stale_after):
            return False
        try:
            message_id = publish(rule.topic, rule.build(day, claim.claim_id, services))
        except BaseException:
            self.ledger.release_publish_lease(day, rule.target, attempt=attempt)
            raise
        self.ledger.mark_published(day, rule.target, message_id)
        log.info("trigger published", extra={"fields": {"orchestrator": self.name, "target": rule.target,
                                                         "analysis_date": day.isoformat(),
                                                         "claim_id": claim.claim_id, "won_now": claim.won_now}})
        return True
