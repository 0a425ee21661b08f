"""The orchestrator functions' handlers: a completion in, exactly-once triggers out."""
from __future__ import annotations

from shared.contracts.messages import AnalyticsCompleted, PrecomputeProcessorCompleted, RawProcessed
from shared.orchestration import rules
from shared.orchestration.dependency_graph import DependencyOrchestrator, Evaluation
from shared.orchestration.fan_in import FanInLedger
from shared.runtime.context import FunctionContext

RULES = {
    rules.PHASE2_TO_PHASE3: rules.phase2_to_phase3_rules(),
    rules.PHASE3_TO_PHASE4: rules.phase3_to_phase4_rules(),
    rules.PHASE4: rules.phase4_rules(),
}


def orchestrator(name: str, fctx: FunctionContext) -> DependencyOrchestrator:
    return DependencyOrchestrator(name, RULES[name], FanInLedger(fctx.services.documents))


def _on_completion(name: str, part: str, message, fctx: FunctionContext, *, fire: bool = True
                   ) -> Evaluation | None:
    if not message.success:
        fctx.logger.info("failed completion ignored", extra={"fields": {"part": part, "error": message.error}})
        return None
    evaluation = orchestrator(name, fctx).on_completion(
        part, message.analysis_date, claimant=fctx.envelope.message_id, publish=fctx.publish,
        services=fctx.services, fire=fire)
    fctx.logger.info("completion recorded", extra={"fields": {
        "part": part, "analysis_date": message.analysis_date.isoformat(), "new": evaluation.recorded,
        "published": list(evaluation.published), "waiting": evaluation.waiting}})
    return evaluation


def handle_raw_processed(message: RawProcessed, fctx: FunctionContext) -> None:
    # The backfill switch: record the raw table as loaded, but do not start Phase 3.
    _on_completion(rules.PHASE2_TO_PHASE3, message.processor_name, message, fctx, fire=message.trigger_downstream)


def handle_analytics_completed(message: AnalyticsCompleted, fctx: FunctionContext) -> None:
    _on_completion(rules.PHASE3_TO_PHASE4, message.processor_name, message, fctx)


def handle_precompute_processor_completed(message: PrecomputeProcessorCompleted, fctx: FunctionContext) -> None:
    _on_completion(rules.PHASE4, message.processor_name, message, fctx)
