"""The state of a date: per phase, what is done and what is missing; each trigger, when it
was claimed and published, or which parts it still waits for; the dead letters."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.orchestration.fan_in import FanInLedger
from shared.orchestration.handlers import RULES as RULES_BY_ORCHESTRATOR
from shared.ports.documents import DocumentStore
from shared.runtime.dead_letters import list_dead_letters
from shared.topology import TOPOLOGY


@dataclass(frozen=True)
class PhaseState:
    phase: int
    name: str
    done: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class TriggerState:
    orchestrator: str
    target: str
    waits_for: tuple[str, ...]
    missing: tuple[str, ...]
    claimed_at: Any = None
    published: bool = False
    published_at: Any = None


@dataclass
class DateStatus:
    analysis_date: date
    phases: list[PhaseState] = field(default_factory=list)
    triggers: list[TriggerState] = field(default_factory=list)
    dead_letters: list[dict] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.analysis_date.isoformat(),
            "phases": [{"phase": p.phase, "name": p.name, "done": list(p.done), "missing": list(p.missing)}
                       for p in self.phases],
            "triggers": [{"orchestrator": t.orchestrator, "target": t.target, "missing": list(t.missing),
                          "claimed_at": _iso(t.claimed_at), "published": t.published,
                          "published_at": _iso(t.published_at)} for t in self.triggers],
            "dead_letters": self.dead_letters,
        }


def date_status(documents: DocumentStore, day: date) -> DateStatus:
    ledger = FanInLedger(documents)
    parts, claims = ledger.parts(day), ledger.claims(day)
    status = DateStatus(analysis_date=day)
    for phase in TOPOLOGY.phases:
        if phase.number in (2, 3, 4):
            done = tuple(p for p in phase.processors if p in parts)
            status.phases.append(PhaseState(phase.number, phase.name, done,
                                            tuple(p for p in phase.processors if p not in parts)))
    for orchestrator, rules in RULES_BY_ORCHESTRATOR.items():
        for rule in rules:
            claim = claims.get(rule.target, {})
            status.triggers.append(TriggerState(
                orchestrator=orchestrator, target=rule.target, waits_for=tuple(sorted(rule.waits_for)),
                missing=tuple(sorted(p for p in rule.waits_for if p not in parts)),
                claimed_at=claim.get("claimed_at"), published=bool(claim.get("published")),
                published_at=claim.get("published_at")))
    status.dead_letters = [
        {k: letter.get(k) for k in ("source_topic", "function", "error_kind", "reason", "recorded_at")}
        for letter in list_dead_letters(documents) if _concerns(letter, day)]
    return status


def _concerns(letter: dict, day: date) -> bool:
    """Whether a dead letter is about `day` — or might be (its payload could not be read)."""
    try:
        payload = json.loads(base64.b64decode(letter.get("original_data_b64", "")))["payload"]
    except (ValueError, KeyError, TypeError):
        return True
    found = payload.get("analysis_date") or payload.get("game_date") if isinstance(payload, dict) else None
    return found is None or found == day.isoformat()


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else value
