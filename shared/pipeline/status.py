"""The state of a date: per phase, what is done and what is missing; each trigger, when it
was claimed and published, or which parts it still waits for; the dead letters."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Sequence

from shared.orchestration.fan_in import FanInLedger, part_path
from shared.orchestration.handlers import RULES as RULES_BY_ORCHESTRATOR
from shared.orchestration.reconciler import RELEASE_COMMAND
from shared.orchestration.rules import PHASE2_TO_PHASE3, PHASE4, PHASE5_TARGET
from shared.pipeline import data_versions, holds, run_history
from shared.ports.documents import DocumentStore
from shared.runtime.dead_letters import list_dead_letters
from shared.topology import TOPOLOGY


@dataclass(frozen=True)
class PhaseState:
    phase: int
    name: str
    done: tuple[str, ...]
    missing: tuple[str, ...]
    failed: dict[str, str] = field(default_factory=dict)  # part → reason


@dataclass(frozen=True)
class TriggerState:
    orchestrator: str
    target: str
    waits_for: tuple[str, ...]
    missing: tuple[str, ...]
    claimed_at: Any = None
    published: bool = False
    published_at: Any = None
    held: bool = False
    claims: int = 0  # one per input version claimed


@dataclass
class DateStatus:
    analysis_date: date
    phases: list[PhaseState] = field(default_factory=list)
    triggers: list[TriggerState] = field(default_factory=list)
    dead_letters: list[dict] = field(default_factory=list)
    stale: dict[str, list[str]] = field(default_factory=dict)  # processor → why
    held: str | None = None  # the command that releases a date held by the backfill switch
    finished: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.analysis_date.isoformat(),
            "finished": self.finished,
            "held": self.held,
            "stale": self.stale,
            "phases": [{"phase": p.phase, "name": p.name, "done": list(p.done), "missing": list(p.missing),
                        "failed": p.failed} for p in self.phases],
            "triggers": [{"orchestrator": t.orchestrator, "target": t.target, "missing": list(t.missing),
                          "claimed_at": _iso(t.claimed_at), "published": t.published,
                          "published_at": _iso(t.published_at), "held": t.held, "claims": t.claims}
                         for t in self.triggers],
            "dead_letters": self.dead_letters,
        }


def date_status(documents: DocumentStore, day: date, *, with_stale: bool = True,
                with_dead_letters: bool = True) -> DateStatus:
    """`with_stale=False` leaves out the staleness check (a backfill reports counts only);
    `with_dead_letters=False` the scan of every recorded dead letter (a run reports its own)."""
    return date_statuses(documents, [day], with_stale=with_stale, with_dead_letters=with_dead_letters)[0]


def date_statuses(documents: DocumentStore, days: Sequence[date], *, with_stale: bool = True,
                  with_dead_letters: bool = True) -> list[DateStatus]:
    """The status of each of `days` (a page of dates) in one pass: the fan-in parts and holds of
    every date in one `get_all`, the dead letters once; each date's runs, claims and Phase 5 state
    are its own reads."""
    days = list(days)
    if not days:
        return []
    shared = _SharedReads.of(documents, days)
    letters = list_dead_letters(documents) if with_dead_letters else []
    return [_status_of(documents, day, shared, with_stale, letters) for day in days]


@dataclass(frozen=True)
class _SharedReads:
    parts: dict[date, dict[str, dict]]
    held: dict[date, bool]
    runs: dict[date, dict[str, dict[str, Any]]]

    @classmethod
    def of(cls, documents: DocumentStore, days: list[date]) -> "_SharedReads":
        names = sorted(set().union(*(rule.waits_for for rules in RULES_BY_ORCHESTRATOR.values() for rule in rules),
                                   *(phase.processors for phase in TOPOLOGY.phases if phase.number in (2, 3, 4))))
        paths = [(day, name) for day in days for name in names]
        found = documents.get_all([part_path(day, name) for day, name in paths]
                                  + [holds.path_of(day) for day in days])
        parts: dict[date, dict[str, dict]] = {day: {} for day in days}
        for (day, name), document in zip(paths, found):
            if document is not None:
                parts[day][name] = document.data
        held = {day: document is not None for day, document in zip(days, found[len(paths):])}
        # The runs one equality query a date: it uses the `analysis_date` index, an `in` of dates does not.
        return cls(parts=parts, held=held, runs={day: run_history.runs_for(documents, day) for day in days})


def _status_of(documents: DocumentStore, day: date, shared: _SharedReads, with_stale: bool,
               letters: list[dict]) -> DateStatus:
    parts, claims, runs = shared.parts[day], FanInLedger(documents).claims(day), shared.runs[day]
    latest = {c["target"]: c for c in claims}
    held = shared.held[day]
    status = DateStatus(analysis_date=day, finished=is_finished(documents, day, runs=runs),
                        stale=stale_processors(documents, day, runs=runs) if with_stale else {},
                        held=RELEASE_COMMAND.format(day=day.isoformat()) if held else None)
    done = {name for name, p in parts.items() if p.get("succeeded", True)}
    for phase in TOPOLOGY.phases:
        if phase.number in (2, 3, 4):
            failed = {p: parts[p].get("error") or "failed" for p in phase.processors
                      if p in parts and not parts[p].get("succeeded", True)}
            status.phases.append(PhaseState(phase.number, phase.name, tuple(p for p in phase.processors if p in done),
                                            tuple(p for p in phase.processors if p not in done), failed))
    for orchestrator, rules in RULES_BY_ORCHESTRATOR.items():
        for rule in rules:
            claim = latest.get(rule.target, {})
            status.triggers.append(TriggerState(
                orchestrator=orchestrator, target=rule.target, waits_for=tuple(sorted(rule.waits_for)),
                missing=tuple(sorted(p for p in rule.waits_for if p not in done)),
                claimed_at=claim.get("claimed_at"), published=bool(claim.get("published")),
                published_at=claim.get("published_at"), claims=sum(c["target"] == rule.target for c in claims),
                held=held and orchestrator == PHASE2_TO_PHASE3 and not claim))
    status.dead_letters = [
        {k: letter.get(k) for k in ("source_topic", "function", "error_kind", "reason", "recorded_at")}
        for letter in letters if _concerns(letter, day)]
    return status


def stale_processors(documents: DocumentStore, day: date, *, runs: dict[str, dict[str, Any]] | None = None
                     ) -> dict[str, list[str]]:
    """processor → why its last success for `day` no longer matches its inputs (`runs`: the date's
    run documents, if already read)."""
    from shared.pipeline.tables import processors_by_name

    processors = processors_by_name()
    stale = {}
    for name, run in (run_history.runs_for(documents, day) if runs is None else runs).items():
        recorded = run.get("succeeded_provenance")
        if not recorded or name not in processors:
            continue
        processor = processors[name]
        extra = {k: v for k, v in recorded.items() if k == "payload_sha256"}  # the payload is the run's own input
        # What that run read: a run may read less than `reads` (an empty payload needs no registry).
        reads = tuple(spec for spec in processor.reads if spec.key in recorded)
        current = processor.provenance_as_of(documents, day, reads=reads, extra=extra)
        reasons = data_versions.changes(recorded, current)
        if run.get("needs_rerun"):
            reasons.append(run.get("needs_rerun_reason") or "marked for recomputation")
        if reasons:
            stale[name] = reasons
    return stale


def is_finished(documents: DocumentStore, day: date, *, runs: dict[str, dict[str, Any]] | None = None) -> bool:
    """Phase 4's completion was published for the date's current final version, and none of the
    date's runs is still running, failed, marked for recomputation or behind a `--redo` (`runs`: the
    date's run documents, if already read)."""
    final = next(rule for rule in RULES_BY_ORCHESTRATOR[PHASE4] if rule.target == PHASE5_TARGET)
    claim = FanInLedger(documents).find_claim(day, final.target, final.inputs(day, documents))
    if not (claim and claim["published"]):
        return False
    redo = data_versions.recompute_requests(documents, day)
    for run in (run_history.runs_for(documents, day) if runs is None else runs).values():
        if run.get("status") != "succeeded" or run.get("needs_rerun"):
            return False
        if redo and (run.get("succeeded_provenance") or {}).get("redo") != str(redo):
            return False
    return predictions_finished(documents, day)


def predictions_finished(documents: DocumentStore, day: date) -> bool:
    """Phase 5 completed for the date's current features — or predictions were switched off for
    it (a backfill of history) and never requested since."""
    from shared.predictions.batches import BatchLedger
    from shared.predictions.coordinator import SWITCHED_OFF
    from shared.predictions.fan_out import FEATURES

    batch = BatchLedger(documents).current(day)
    if batch is None:
        return documents.get(f"{SWITCHED_OFF}/{day.isoformat()}") is not None
    pointer = BatchLedger(documents).pointer(day)
    current = data_versions.current_version(documents, FEATURES, day)
    return batch.feature_data_version == current and pointer.get("completed_batch_id") == batch.batch_id


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
