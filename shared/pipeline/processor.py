"""The base every Phase 2–4 processor runs on.

run_processor: skip if (processor, run key) already succeeded — but still announce the
completion, so a crash between recording success and publishing never loses a trigger —
else take the run lease, extract → transform → validate → load (replace the date's
partition: idempotent) → record the run → publish the completion.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Sequence

from shared.contracts.envelope import Message
from shared.pipeline import run_history
from shared.pipeline.run_history import Lease, PriorSuccess, RunInProgressElsewhere, RunStatus
from shared.ports.warehouse import SchemaMismatch, TableSpec
from shared.ports.warehouse_rows import conform_rows
from shared.runtime.errors import PermanentError, TransientError

if TYPE_CHECKING:
    from shared.bootstrap import Services
    from shared.runtime.context import FunctionContext

log = logging.getLogger("sportsflow.pipeline")
Publish = Callable[[str, Message], Any]


class DataQualityError(PermanentError):
    """Inputs or outputs break a rule no retry can fix (a quarantine or a bug upstream)."""


@dataclass(frozen=True)
class ProcessorContext:
    services: "Services"
    analysis_date: date
    run_id: str
    correlation_id: str
    publish: Publish
    trigger: Message | None = None


def processor_context(fctx: "FunctionContext", analysis_date: date, trigger: Message | None = None
                      ) -> ProcessorContext:
    """The context of a processor run inside a function invocation."""
    return ProcessorContext(services=fctx.services, analysis_date=analysis_date, run_id=fctx.run_id,
                            correlation_id=fctx.correlation_id, publish=fctx.publish, trigger=trigger)


@dataclass(frozen=True)
class ProcessorOutcome:
    processor: str
    run_key: str
    status: str  # "succeeded" | "skipped"
    records: int
    run_id: str


class Processor(ABC):
    """One output table, filled one date partition at a time."""

    name: ClassVar[str]
    phase: ClassVar[int]
    output: ClassVar[TableSpec]
    completion_topic: ClassVar[str]

    def run_key(self, ctx: ProcessorContext) -> str:
        """What makes two runs the same work (default: the date)."""
        return ctx.analysis_date.isoformat()

    @abstractmethod
    def extract(self, ctx: ProcessorContext) -> Any:
        """Read the inputs (warehouse queries, stored payloads). No writes."""

    @abstractmethod
    def transform(self, ctx: ProcessorContext, extracted: Any) -> list[dict[str, Any]]:
        """Pure: inputs → output rows for ctx.analysis_date."""

    def validate(self, ctx: ProcessorContext, rows: Sequence[Mapping[str, Any]]) -> None:
        """Extra rules beyond the table schema; raise DataQualityError."""

    def load(self, ctx: ProcessorContext, rows: list[dict[str, Any]]) -> int:
        return ctx.services.warehouse.replace_partition(self.output, ctx.analysis_date, rows)

    @abstractmethod
    def completion(self, ctx: ProcessorContext, records: int) -> Message:
        """The message announcing this run on completion_topic."""


def ensure_tables(services: "Services", processors: Sequence[Processor], extra: Sequence[TableSpec] = ()) -> None:
    warehouse = services.warehouse
    for spec in {p.output for p in processors} | set(extra) | {run_history.RUN_HISTORY_TABLE}:
        warehouse.ensure_dataset(spec.dataset)
        warehouse.ensure_table(spec)


def run_processor(processor: Processor, ctx: ProcessorContext) -> ProcessorOutcome:
    run_key = processor.run_key(ctx)
    try:
        claim = run_history.acquire(ctx.services.documents, processor.name, run_key, ctx.run_id)
    except RunInProgressElsewhere as err:
        raise TransientError(str(err)) from None
    if isinstance(claim, PriorSuccess):
        log.info("already done; announcing again", extra={"fields": {"processor": processor.name,
                                                                     "run_key": run_key, "prior_run_id": claim.run_id}})
        ctx.publish(processor.completion_topic, processor.completion(ctx, claim.records))
        return ProcessorOutcome(processor.name, run_key, "skipped", claim.records, claim.run_id)
    records = _work(processor, ctx, claim, run_key)
    ctx.publish(processor.completion_topic, processor.completion(ctx, records))
    return ProcessorOutcome(processor.name, run_key, "succeeded", records, ctx.run_id)


def _work(processor: Processor, ctx: ProcessorContext, lease: Lease, run_key: str) -> int:
    try:
        rows = processor.transform(ctx, processor.extract(ctx))
        try:
            rows = conform_rows(processor.output, rows)
        except SchemaMismatch as err:
            raise DataQualityError(str(err)) from None
        processor.validate(ctx, rows)
        records = processor.load(ctx, rows)
    except Exception as err:
        _record(processor, ctx, lease, run_key, RunStatus.FAILED, 0, f"{type(err).__name__}: {err}")
        raise
    _record(processor, ctx, lease, run_key, RunStatus.SUCCEEDED, records)
    log.info("processed", extra={"fields": {"processor": processor.name, "run_key": run_key, "records": records}})
    return records


def _record(processor: Processor, ctx: ProcessorContext, lease: Lease, run_key: str, status: RunStatus,
            records: int, error: str | None = None) -> None:
    # The warehouse row first: if recording success in the document store fails after it,
    # the redelivery redoes the (idempotent) work instead of skipping unrecorded work.
    run_history.record_attempt(ctx.services.warehouse, analysis_date=ctx.analysis_date, processor=processor.name,
                               phase=processor.phase, run_key=run_key, run_id=ctx.run_id,
                               correlation_id=ctx.correlation_id, status=status.value, records=records,
                               started_at=lease.started_at, error=error)
    run_history.finish(ctx.services.documents, lease, status, records=records, error=error)


