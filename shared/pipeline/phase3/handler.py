"""phase3_analytics: run the analytics processors an AnalyticsTrigger names for its date."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from shared.contracts.messages import AnalyticsTrigger
from shared.pipeline.processor import (
    Processor,
    ProcessorOutcome,
    ensure_tables,
    processor_context,
    run_processor,
)
from shared.runtime.errors import PermanentError

log = logging.getLogger("sportsflow.pipeline.triggers")
CONSUMED = "consumed_triggers"

if TYPE_CHECKING:
    from shared.runtime.context import FunctionContext


def handle_analytics_trigger(message: AnalyticsTrigger, fctx: FunctionContext) -> list[ProcessorOutcome]:
    from shared.pipeline.phase3 import PROCESSORS
    return run_named(PROCESSORS, message.processor_names, message, fctx)


def run_named(registry: Mapping[str, Processor], names: tuple[str, ...], message: AnalyticsTrigger,
              fctx: FunctionContext) -> list[ProcessorOutcome]:
    """Run each named processor of `registry` for the trigger's date. Every table of the
    registry is ensured first: processors read each other's earlier partitions."""
    unknown = [name for name in names if name not in registry]
    if unknown:
        raise PermanentError(f"unknown processor(s) {unknown}; known: {sorted(registry)}")
    ensure_tables(fctx.services, list(registry.values()))
    ctx = processor_context(fctx, message.analysis_date, message)
    return [outcome for name in names if (outcome := _consume(registry[name], ctx, message)) is not None]


def _consume(processor: Processor, ctx, message: AnalyticsTrigger) -> ProcessorOutcome | None:
    """Run `processor` for the trigger once per claim: a second delivery of the same claim's
    trigger (a publish that timed out after Pub/Sub accepted it) finds the mark and does
    nothing. The mark is made only after the run and its announcement, so a crash before it
    redoes the (idempotent) run instead of losing it."""
    documents = ctx.services.documents
    mark = consumed_path(message.claim_id, processor.name)
    if documents.get(mark) is not None:
        log.info("trigger already consumed", extra={"fields": {"processor": processor.name,
                                                               "claim_id": message.claim_id}})
        return None
    outcome = run_processor(processor, ctx)
    if outcome.status != "deferred":
        documents.create(mark, {"claim_id": message.claim_id, "processor": processor.name,
                                "analysis_date": message.analysis_date.isoformat(), "run_id": outcome.run_id,
                                "status": outcome.status})
    return outcome


def consumed_path(claim_id: str, processor: str) -> str:
    return f"{CONSUMED}/{claim_id}__{processor}"
