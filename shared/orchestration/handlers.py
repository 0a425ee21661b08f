"""The orchestrator functions' handlers: a completion in, exactly-once triggers out."""
from __future__ import annotations

from shared.contracts.messages import AnalyticsCompleted, PrecomputeProcessorCompleted, RawProcessed
from shared.metrics.recorder import record_quietly
from shared.orchestration import rules
from shared.orchestration.dependency_graph import DependencyOrchestrator, Evaluation
from shared.orchestration.fan_in import FanInLedger, PartOutcome
from shared.pipeline import holds
from shared.ports.documents import DocumentStore
from shared.runtime.context import FunctionContext

RULES = {
    rules.PHASE2_TO_PHASE3: rules.phase2_to_phase3_rules(),
    rules.PHASE3_TO_PHASE4: rules.phase3_to_phase4_rules(),
    rules.PHASE4: rules.phase4_rules(),
}
# The parts each orchestrator waits for: the fan-in's "expected".
RULES_PARTS = {name: frozenset().union(*(rule.waits_for for rule in rules)) for name, rules in RULES.items()}
FAN_IN_PROGRESS = "fan_in_progress"  # value: parts complete for the date; labels: orchestrator, date, expected
# The order a date flows through them (the reconciler and `backfill --stale` evaluate in it).
ORDER = (rules.PHASE2_TO_PHASE3, rules.PHASE3_TO_PHASE4, rules.PHASE4)


def orchestrator(name: str, documents: DocumentStore) -> DependencyOrchestrator:
    return DependencyOrchestrator(name, RULES[name], FanInLedger(documents), documents)


def _on_completion(name: str, message, fctx: FunctionContext, *, fire: bool = True) -> Evaluation:
    outcome = PartOutcome(succeeded=message.success, data_version=message.data_version, fence=message.run_fence,
                          error=message.error)
    evaluation = orchestrator(name, fctx.services.documents).on_completion(
        message.processor_name, message.analysis_date, outcome, claimant=fctx.envelope.message_id,
        publish=fctx.publish, services=fctx.services, fire=fire)
    fctx.logger.info("completion recorded", extra={"fields": {
        "part": message.processor_name, "analysis_date": message.analysis_date.isoformat(),
        "succeeded": message.success, "error": message.error, "new": evaluation.recorded,
        "held": not fire, "published": list(evaluation.published), "waiting": evaluation.waiting}})
    if evaluation.recorded and evaluation.done is not None:  # a new part: the fan-in moved (duplicates do not)
        record_quietly(fctx.services.settings, FAN_IN_PROGRESS, len(evaluation.done), orchestrator=name,
                       analysis_date=message.analysis_date.isoformat(), expected=len(RULES_PARTS[name]),
                       part=message.processor_name)
    return evaluation


def handle_raw_processed(message: RawProcessed, fctx: FunctionContext) -> Evaluation:
    # The backfill switch: record the raw table as loaded and hold the date; Phase 3 is not started.
    documents = fctx.services.documents
    if not message.trigger_downstream:
        holds.hold(documents, message.analysis_date)
    fire = message.trigger_downstream and not holds.is_held(documents, message.analysis_date)
    return _on_completion(rules.PHASE2_TO_PHASE3, message, fctx, fire=fire)


def handle_analytics_completed(message: AnalyticsCompleted, fctx: FunctionContext) -> Evaluation:
    return _on_completion(rules.PHASE3_TO_PHASE4, message, fctx)


def handle_precompute_processor_completed(message: PrecomputeProcessorCompleted, fctx: FunctionContext
                                          ) -> Evaluation:
    return _on_completion(rules.PHASE4, message, fctx)
