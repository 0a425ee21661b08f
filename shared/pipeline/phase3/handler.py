"""phase3_analytics: run the analytics processors an AnalyticsTrigger names for its date."""
from __future__ import annotations

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
    return [run_processor(registry[name], ctx) for name in names]
