"""The base every Phase 2–4 processor runs on.

run_processor: skip if (processor, run key) already succeeded — but still announce the
completion, so a crash between recording success and publishing never loses a trigger —
else take the run lease, extract → transform → validate → load (replace the date's
partition: idempotent) → record the run → publish the completion.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary
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
class ProcessorOutput:
    """What transform may return instead of a plain row list: the output table's rows plus
    rows of further tables written for the same date in the same run (e.g. a review table)."""
    rows: list[dict[str, Any]]
    side_outputs: Mapping[TableSpec, list[dict[str, Any]]] = field(default_factory=dict)


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
    def transform(self, ctx: ProcessorContext, extracted: Any) -> list[dict[str, Any]] | ProcessorOutput:
        """Pure: inputs → output rows for ctx.analysis_date (and, optionally, side outputs)."""

    def validate(self, ctx: ProcessorContext, rows: Sequence[Mapping[str, Any]]) -> None:
        """Extra rules beyond the table schema; raise DataQualityError."""

    def load(self, ctx: ProcessorContext, output: ProcessorOutput) -> int:
        """Replace the date's partition of every table written (idempotent); side outputs first,
        so the run only counts as loaded once its main table is."""
        warehouse = ctx.services.warehouse
        for spec, rows in output.side_outputs.items():
            warehouse.replace_partition(spec, ctx.analysis_date, rows)
        return warehouse.replace_partition(self.output, ctx.analysis_date, output.rows)

    @abstractmethod
    def completion(self, ctx: ProcessorContext, records: int) -> Message:
        """The message announcing this run on completion_topic."""


# Tables already ensured, per warehouse: handlers ensure on every message, and against
# BigQuery each ensure is an API round trip, so each table is ensured once per instance.
_ensured: "WeakKeyDictionary[Any, set[TableSpec]]" = WeakKeyDictionary()


def ensure_tables(services: "Services", processors: Sequence[Processor], extra: Sequence[TableSpec] = ()) -> None:
    """Create (if absent) the processors' outputs, `extra` and the run history table."""
    warehouse = services.warehouse
    done = _ensured.setdefault(warehouse, set())
    for spec in ({p.output for p in processors} | set(extra) | {run_history.RUN_HISTORY_TABLE}) - done:
        warehouse.ensure_dataset(spec.dataset)
        warehouse.ensure_table(spec)
        done.add(spec)


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
        output = _conformed(processor, processor.transform(ctx, processor.extract(ctx)))
        processor.validate(ctx, output.rows)
        records = processor.load(ctx, output)
    except Exception as err:
        _record(processor, ctx, lease, run_key, RunStatus.FAILED, 0, f"{type(err).__name__}: {err}")
        raise
    _record(processor, ctx, lease, run_key, RunStatus.SUCCEEDED, records)
    log.info("processed", extra={"fields": {"processor": processor.name, "run_key": run_key, "records": records}})
    return records


def _conformed(processor: Processor, produced: list[dict[str, Any]] | ProcessorOutput) -> ProcessorOutput:
    output = produced if isinstance(produced, ProcessorOutput) else ProcessorOutput(rows=produced)
    try:
        return ProcessorOutput(rows=conform_rows(processor.output, output.rows),
                               side_outputs={spec: conform_rows(spec, rows)
                                             for spec, rows in output.side_outputs.items()})
    except SchemaMismatch as err:
        raise DataQualityError(str(err)) from None


def _record(processor: Processor, ctx: ProcessorContext, lease: Lease, run_key: str, status: RunStatus,
            records: int, error: str | None = None) -> None:
    # The warehouse row first: if recording success in the document store fails after it,
    # the redelivery redoes the (idempotent) work instead of skipping unrecorded work.
    run_history.record_attempt(ctx.services.warehouse, analysis_date=ctx.analysis_date, processor=processor.name,
                               phase=processor.phase, run_key=run_key, run_id=ctx.run_id,
                               correlation_id=ctx.correlation_id, status=status.value, records=records,
                               started_at=lease.started_at, error=error)
    run_history.finish(ctx.services.documents, lease, status, records=records, error=error)


