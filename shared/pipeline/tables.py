"""Every processor and every table of Phases 2–4, gathered from the phase packages, and Phase 5's predictions table."""
from __future__ import annotations

from importlib import import_module
from types import ModuleType

from shared.pipeline.processor import Processor
from shared.ports.warehouse import TableSpec

PHASE_PACKAGES = ("shared.pipeline.phase2", "shared.pipeline.phase3", "shared.pipeline.phase4")


def _phases() -> list[ModuleType]:
    return [import_module(name) for name in PHASE_PACKAGES]


def pipeline_processors() -> list[Processor]:
    return [processor for phase in _phases() for processor in phase.PROCESSORS.values()]


def pipeline_tables() -> list[TableSpec]:
    """Every table a date's run writes: the processors' outputs and the specs their phase's
    `tables` module declares (e.g. the identity review table), without duplicates."""
    from shared.predictions.tables import PLAYER_PROP_PREDICTIONS

    specs = {p.output for p in pipeline_processors()} | {PLAYER_PROP_PREDICTIONS}
    for phase in _phases():
        tables = import_module(f"{phase.__name__}.tables")
        specs |= {value for value in vars(tables).values() if isinstance(value, TableSpec)}
    return sorted(specs, key=lambda spec: spec.qualified_name)


def processors_by_name() -> dict[str, Processor]:
    """Every processor by its name (Phase 2's are keyed by scraper in their own package)."""
    return {processor.name: processor for processor in pipeline_processors()}
