"""phase4_precompute: run the precompute processors a PrecomputeTrigger names for its date."""
from __future__ import annotations

from typing import TYPE_CHECKING

from shared.contracts.messages import PrecomputeTrigger
from shared.pipeline.phase3.handler import run_named
from shared.pipeline.processor import ProcessorOutcome

if TYPE_CHECKING:
    from shared.runtime.context import FunctionContext


def handle_precompute_trigger(message: PrecomputeTrigger, fctx: FunctionContext) -> list[ProcessorOutcome]:
    from shared.pipeline.phase4 import PROCESSORS
    return run_named(PROCESSORS, message.processor_names, message, fctx)
