"""The reconciler: what crashes and lost messages left undone, driven again through the same
claims and run keys, so the reconciler itself can never double anything.

One pass (Cloud Scheduler every 10 minutes, `sportsflow reconcile`, and after every `--chaos`
run) looks at recent dates (or the dates it is given) and repairs:

- **unpublished claims** whose publish lease has run out (a publisher killed between claim
  and publish): it takes the lease like any publisher and publishes the claim's trigger;
- **ready fan-ins with no claim** (every part done, the completion that should have fired
  lost): it evaluates the orchestrator, which claims and fires exactly once;
- **expired `running` leases** (a processor killed mid-run) and **failed runs** (bounded:
  `MAX_REDRIVES` per run): it delivers the run's stored trigger again;
- **lost completions**: a run that succeeded but whose completion never reached its
  orchestrator (its part is missing or older) is announced again; a published trigger whose
  processors never ran is delivered again (same claim id). Pub/Sub does not lose published
  messages, so the deployed reconciler waits `grace` first; on the embedded backend a killed
  process loses whatever was in flight, and a restarted one reconciles with no grace;
- **dead-lettered triggers** whose cause may have gone (Pub/Sub gave up after its delivery
  attempts): each is published again once, with its original message id, so consumers see a
  redelivery, not a new message.

It never fires a date held by the backfill switch (`--raw-only`): it reports it as held and
names the command that releases it. A date whose Phase 4 has not finished `DEADLINE` after
its first completion is logged as an alert line (`pipeline date not finished by deadline`).
"""
from __future__ import annotations

import base64
import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Callable

from shared.contracts.envelope import Message
from shared.orchestration import handlers, rules
from shared.orchestration.dependency_graph import publish_claim
from shared.orchestration.fan_in import DEFAULT_STALE_AFTER, PUBLISH_LEASE, FanInLedger
from shared.pipeline import holds, run_history
from shared.pipeline.phase3.handler import consumed_path
from shared.pipeline.run_history import RunStatus
from shared.runtime.dead_letters import COLLECTION as DEAD_LETTERS
from shared.runtime.dead_letters import date_of_original

if TYPE_CHECKING:
    from shared.bootstrap import Services

log = logging.getLogger("sportsflow.reconciler")
Publish = Callable[[str, Message], str]
LOOKBACK = timedelta(days=7)
DEADLINE = timedelta(hours=6)
MAX_REDRIVES = 3
REDRIVABLE_DEAD_LETTERS = frozenset({"max_delivery_attempts_exceeded"})
RELEASE_COMMAND = "sportsflow release --date {day}"


@dataclass(frozen=True)
class Repair:
    kind: str
    analysis_date: str
    target: str
    detail: str = ""


@dataclass
class ReconcileReport:
    dates: list[str] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # date → the command that releases it
    late: list[str] = field(default_factory=list)
    gave_up: list[Repair] = field(default_factory=list)  # re-driven MAX_REDRIVES times already

    def as_json(self) -> dict[str, Any]:
        return {"dates": self.dates, "repaired": len(self.repairs), "repairs": [asdict(r) for r in self.repairs],
                "held": self.held, "late": self.late, "gave_up": [asdict(r) for r in self.gave_up]}


class Reconciler:
    def __init__(self, services: "Services", publish: Publish, *, publish_raw: Callable[[str, bytes, dict], str],
                 stale_after: timedelta = DEFAULT_STALE_AFTER, grace: timedelta = DEFAULT_STALE_AFTER,
                 nothing_in_flight: bool = False):
        """`nothing_in_flight`: no other process works on this store and nothing is being
        delivered (the embedded backend between runs): every `running` lease is a dead one."""
        self.services = services
        self.grace = timedelta(0) if nothing_in_flight else grace
        self.nothing_in_flight = nothing_in_flight
        self.documents = services.documents
        self.ledger = FanInLedger(self.documents)
        self.publish = publish
        self.publish_raw = publish_raw
        self.stale_after = stale_after
        self.claimant = f"reconciler-{uuid.uuid4().hex[:12]}"

    def run(self, days: list[date] | None = None) -> ReconcileReport:
        now = self.documents.now()
        days = sorted(days if days is not None else self.ledger.dates(since=(now - LOOKBACK).date()))
        report = ReconcileReport(dates=[d.isoformat() for d in days])
        for day in days:
            self._reconcile_date(day, report)
        self._redrive_runs(report, days)
        self._redrive_dead_letters(report, days)
        log.info("reconciled", extra={"fields": {"dates": len(days), "repaired": len(report.repairs),
                                                 "kinds": sorted({r.kind for r in report.repairs}),
                                                 "held": sorted(report.held), "late": report.late}})
        return report

    # --- per date --------------------------------------------------------------------------
    def _reconcile_date(self, day: date, report: ReconcileReport) -> None:
        parts = self.ledger.parts(day)
        if holds.is_held(self.documents, day):
            report.held[day.isoformat()] = RELEASE_COMMAND.format(day=day.isoformat())
        self._publish_unpublished(day, report)
        for name in handlers.ORDER:
            if name == rules.PHASE2_TO_PHASE3 and day.isoformat() in report.held:
                continue
            self._fire_unclaimed(name, day, report)
        self._redrive_lost(day, parts, report)
        self._repair_predictions(day, report)
        if day.isoformat() not in report.held:  # held on purpose: not late
            self._check_deadline(day, parts, report)

    def _repair_predictions(self, day: date, report: ReconcileReport) -> None:
        from shared.predictions.repair import repair
        for done in repair(self.services, day, publish=self.publish, claimant=self.claimant, grace=self.grace,
                           nothing_in_flight=self.nothing_in_flight):
            report.repairs.append(Repair(done.kind, day.isoformat(), done.target, done.detail))

    def _publish_unpublished(self, day: date, report: ReconcileReport) -> None:
        now = self.documents.now()
        for claim in self.ledger.claims(day):
            lease_live = claim.get("lease_until") and claim["lease_until"] > now and not self.nothing_in_flight
            if claim["published"] or lease_live:
                continue
            rule = _rule(claim["orchestrator"], claim["target"])
            attempt = uuid.uuid4().hex
            if not self.ledger.take_publish_lease(day, claim["target"], claim["inputs"], claimant=claim["claimant"],
                                                  attempt=attempt, stale_after=self.stale_after,
                                                  holder_is_dead=self.nothing_in_flight):
                continue
            publish_claim(self.ledger, rule, day, claim["inputs"], claim["claim_id"], attempt=attempt,
                          publish=self.publish, services=self.services)
            report.repairs.append(Repair("unpublished_claim", day.isoformat(), claim["target"],
                                         f"claimed at {claim['claimed_at'].isoformat()}, published now"))

    def _fire_unclaimed(self, name: str, day: date, report: ReconcileReport) -> None:
        """Fire rules whose parts changed after their latest claim (or were never claimed): the
        completion that should have claimed them was lost. A change of history alone (an earlier
        date) is left to `backfill --stale`, which recomputes in date order."""
        orchestrator = handlers.orchestrator(name, self.documents)
        latest = self.ledger.latest_claims(day)
        parts = self.ledger.parts(day)

        def lost(rule) -> bool:
            claim = latest.get(rule.target)
            if claim is None:
                return True
            changed = [parts[p]["recorded_at"] for p in rule.waits_for if p in parts]
            return bool(changed) and max(changed) > claim["claimed_at"] \
                and self.ledger.find_claim(day, rule.target, rule.inputs(day, self.documents)) is None

        unclaimed = tuple(rule for rule in orchestrator.rules if lost(rule))
        if not unclaimed:
            return
        evaluation = orchestrator.fire_ready(unclaimed, day, claimant=self.claimant, publish=self.publish,
                                             services=self.services)
        for target in evaluation.published:
            report.repairs.append(Repair("ready_fan_in_unclaimed", day.isoformat(), target,
                                         "every part done, no claim: fired"))

    def _redrive_lost(self, day: date, parts: dict[str, dict], report: ReconcileReport) -> None:
        now = self.documents.now()
        runs = run_history.runs_for(self.documents, day)
        for name, run in runs.items():
            part = parts.get(name)
            announced = part is not None and int(part.get("fence", 0)) >= int(run.get("succeeded_fence", -1))
            recent = run.get("finished_at") and now - run["finished_at"] < self.grace
            if run.get("status") == RunStatus.SUCCEEDED and not announced and not recent:
                self._announce_again(name, day, run)
                report.repairs.append(Repair("lost_completion", day.isoformat(), name,
                                             f"fence {run['succeeded_fence']} announced again"))
        for claim in self.ledger.claims(day):
            if not claim["published"] or now - claim["published_at"] < self.grace:
                continue
            never_ran = [p for p in _processors_of(claim["target"]) if p not in runs
                         and self.documents.get(consumed_path(claim["claim_id"], p)) is None]
            if not never_ran:
                continue
            repair = Repair("lost_trigger", day.isoformat(), claim["target"],
                            f"{', '.join(never_ran)} never ran: trigger delivered again")
            if int(claim.get("redrives", 0)) >= MAX_REDRIVES:
                self._give_up(report, repair)
                continue
            rule = _rule(claim["orchestrator"], claim["target"])
            self.publish(rule.topic, rule.build(day, claim["claim_id"], self.services))
            self.ledger.count_redrive(day, claim["target"], claim["inputs"])
            report.repairs.append(repair)

    def _announce_again(self, name: str, day: date, run: dict[str, Any]) -> None:
        from shared.pipeline.processor import ProcessorContext
        from shared.pipeline.tables import processors_by_name

        processor = processors_by_name()[name]
        ctx = ProcessorContext(services=self.services, analysis_date=day, run_id=self.claimant,
                               correlation_id=self.claimant, publish=self.publish)
        message = processor.completion(ctx, int(run.get("records", 0))).model_copy(
            update={"data_version": run.get("data_version"), "run_fence": int(run["succeeded_fence"])})
        self.publish(processor.completion_topic, message)

    def _check_deadline(self, day: date, parts: dict[str, dict], report: ReconcileReport) -> None:
        if not parts or rules.PHASE5_TARGET in {c["target"] for c in self.ledger.claims(day) if c["published"]}:
            return
        first = min(p["recorded_at"] for p in parts.values())
        if self.documents.now() - first > DEADLINE:
            report.late.append(day.isoformat())
            log.error("pipeline date not finished by deadline", extra={"fields": {
                "analysis_date": day.isoformat(), "first_completion_at": first.isoformat(),
                "deadline_hours": DEADLINE.total_seconds() / 3600}})

    # --- runs ------------------------------------------------------------------------------
    def _redrive_runs(self, report: ReconcileReport, days: list[date]) -> None:
        wanted = {d.isoformat() for d in days}
        now = self.documents.now()
        candidates = [(run, "expired_run_lease") for run in run_history.runs_with_status(self.documents,
                                                                                         RunStatus.RUNNING)
                      if self.nothing_in_flight or (run.get("lease_expires_at") and run["lease_expires_at"] <= now)]
        candidates += [(run, "failed_run") for run in run_history.runs_with_status(self.documents, RunStatus.FAILED)]
        for run, kind in candidates:
            if run["analysis_date"] not in wanted or self._recently_redriven(run, now):
                continue
            if int(run.get("redrives", 0)) >= MAX_REDRIVES:
                self._give_up(report, Repair(kind, run["analysis_date"], run["processor"],
                                             f"re-driven {run['redrives']} times; last error: {run.get('error')}"))
                continue
            trigger = run_history.stored_trigger(run)
            if trigger is None:
                continue
            self.publish(*trigger)
            self.documents.update(run_history.run_path(run["processor"], run["analysis_date"]),
                                  {"redriven_at": now, "redrives": int(run.get("redrives", 0)) + 1})
            report.repairs.append(Repair(kind, run["analysis_date"], run["processor"],
                                         f"fence {run.get('fence')}: trigger delivered again"))

    def _recently_redriven(self, run: dict[str, Any], now) -> bool:
        return bool(not self.nothing_in_flight and run.get("redriven_at")
                    and now - run["redriven_at"] < max(PUBLISH_LEASE, run_history.MAX_LEASE))

    @staticmethod
    def _give_up(report: ReconcileReport, repair: Repair) -> None:
        report.gave_up.append(repair)
        log.error("reconciler gave up", extra={"fields": {"kind": repair.kind, "analysis_date": repair.analysis_date,
                                                          "target": repair.target, "detail": repair.detail}})

    # --- dead letters ------------------------------------------------------------------------
    def _redrive_dead_letters(self, report: ReconcileReport, days: list[date]) -> None:
        wanted = {d.isoformat() for d in days}
        for document in self.documents.query(DEAD_LETTERS, [("error_kind", "in", sorted(REDRIVABLE_DEAD_LETTERS))]):
            letter = document.data
            if letter.get("redriven_at"):
                continue
            data = base64.b64decode(letter["original_data_b64"])
            day = date_of_original(data)
            if day is not None and day not in wanted:
                continue
            attributes = {k: v for k, v in (letter.get("attributes") or {}).items()
                          if not k.startswith("CloudPubSubDeadLetter")}
            self.publish_raw(letter["source_topic"], data, attributes)
            self.documents.update(document.path, {"redriven_at": self.documents.now()})
            report.repairs.append(Repair("dead_lettered_trigger", day or "?", letter["source_topic"],
                                         letter.get("reason", "")))


def _processors_of(target: str) -> tuple[str, ...]:
    """The processors a trigger target runs (the Phase 5 target runs none of Phases 2–4)."""
    from shared.topology import TOPOLOGY
    if target == rules.PHASE4_TARGET:
        return tuple(TOPOLOGY.phase4_levels()[0])
    if target.startswith(("phase3/", "phase4/")):
        return (target.split("/", 1)[1],)
    return ()


def _rule(orchestrator: str, target: str):
    from shared.predictions import readiness
    if orchestrator == readiness.ORCHESTRATOR and readiness.is_completion_target(target):
        return readiness.completion_rule(target.removeprefix(readiness.TARGET_PREFIX))
    return next(rule for rule in handlers.RULES[orchestrator] if rule.target == target)


def reconciler_for(services: "Services", *, producer: str = "reconciler", correlation_id: str | None = None,
                   nothing_in_flight: bool = False) -> Reconciler:
    """A Reconciler publishing on `services.bus` with its own run and correlation ids."""
    from shared.contracts.codec import encode
    from shared.contracts.envelope import new_id

    run_id, correlation_id = new_id(), correlation_id or new_id()

    def publish(topic: str, message: Message) -> str:
        encoded = encode(message, run_id=run_id, correlation_id=correlation_id, producer=producer)
        return services.bus.publish(topic, encoded.data, encoded.attributes)

    def publish_raw(topic: str, data: bytes, attributes: dict) -> str:
        return services.bus.publish(topic, data, attributes)

    return Reconciler(services, publish, publish_raw=publish_raw,
                      nothing_in_flight=nothing_in_flight)


def release(services: "Services", day: date) -> bool:
    """The backfill switch let go for one date: its loaded raw tables trigger Phase 3 now.
    True if the date was held."""
    reconciler = reconciler_for(services, producer="reconciler")
    was_held = holds.release(services.documents, day)
    handlers.orchestrator(rules.PHASE2_TO_PHASE3, services.documents).evaluate(
        day, claimant=reconciler.claimant, publish=reconciler.publish, services=services)
    return was_held


def handle_reconcile_request(request) -> Any:
    """The `reconciler` HTTP function (Cloud Scheduler every 10 minutes): one pass; body
    `{"date": "YYYY-MM-DD"}` limits it to one date. Answers the report as JSON."""
    import json

    import flask

    from shared.runtime.entrypoints import process_services

    body = request.get_json(force=True, silent=True) or {}
    try:
        days = [date.fromisoformat(body["date"])] if isinstance(body, dict) and body.get("date") else None
    except (TypeError, ValueError):
        return flask.Response(json.dumps({"error": "date must be YYYY-MM-DD"}), status=400,
                              mimetype="application/json")
    report = reconciler_for(process_services()).run(days)
    return flask.Response(json.dumps(report.as_json(), default=str), status=200, mimetype="application/json")
