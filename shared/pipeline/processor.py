"""The base every Phase 2–4 processor runs on.

run_processor, for (processor, date):
1. provenance: the code version and the current data versions of every input it reads
   (read *before* extracting, so the data read is never older than the key says);
2. acquire the date's run lease (run_history): the same run key already succeeded → skip, but
   still announce the completion (a crash between recording and publishing loses no trigger);
   another trigger's live run → Deferred (that run re-checks its inputs when it finishes);
3. extract → transform → validate → load (replace the date's partition: idempotent), with a
   heartbeat renewing the lease and the fencing token checked before the load;
4. record the outcome fenced (a run that lost its lease never records over the holder), which
   also makes the rows' content hash the date's data version;
5. publish the completion carrying that data version.
A permanent failure publishes a failed completion (the orchestrator shows the reason) and is
dead-lettered; a zombie that loaded after losing its lease marks the date for recomputation.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Sequence
from weakref import WeakKeyDictionary

from shared.contracts.envelope import Message
from shared.pipeline import data_versions, run_history
from shared.pipeline.data_versions import Input
from shared.pipeline.formulas import season_start
from shared.pipeline.run_history import (
    Deferred,
    Heartbeat,
    Lease,
    LeaseLost,
    LeasePolicy,
    PriorSuccess,
    RunInProgressElsewhere,
    RunStatus,
)
from shared.ports.warehouse import SchemaMismatch, TableSpec
from shared.ports.warehouse_rows import conform_rows
from shared.runtime import crash_points
from shared.runtime.errors import PermanentError, TransientError

if TYPE_CHECKING:
    from shared.bootstrap import Services
    from shared.ports.documents import DocumentStore
    from shared.runtime.context import FunctionContext

log = logging.getLogger("sportsflow.pipeline")
Publish = Callable[[str, Message], Any]
# Runs per delivery at most: a trigger arriving during each run asks for one more check.
MAX_RERUNS = 5


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
    trigger_topic: str | None = None
    message_id: str = ""  # the trigger's stable id: its redeliveries share it
    lease_policy: LeasePolicy = LeasePolicy()


def processor_context(fctx: "FunctionContext", analysis_date: date, trigger: Message | None = None
                      ) -> ProcessorContext:
    """The context of a processor run inside a function invocation."""
    return ProcessorContext(services=fctx.services, analysis_date=analysis_date, run_id=fctx.run_id,
                            correlation_id=fctx.correlation_id, publish=fctx.publish, trigger=trigger,
                            trigger_topic=fctx.function.trigger_topic, message_id=fctx.envelope.message_id,
                            lease_policy=LeasePolicy.for_timeout(fctx.function.timeout_s))


@dataclass(frozen=True)
class ProcessorOutput:
    """What transform may return instead of a plain row list: the output table's rows plus
    rows of further tables written for the same date in the same run (e.g. a review table)."""
    rows: list[dict[str, Any]]
    side_outputs: Mapping[TableSpec, list[dict[str, Any]]] = field(default_factory=dict)

    def data_version(self, main: TableSpec) -> str:
        """The content hash of everything written (run ids and timestamps excluded)."""
        if not self.side_outputs:
            return data_versions.content_version(main, self.rows)
        parts = {spec.qualified_name: data_versions.content_version(spec, rows)
                 for spec, rows in self.side_outputs.items()}
        return data_versions.fingerprint({**parts, "main": data_versions.content_version(main, self.rows)})


@dataclass(frozen=True)
class ProcessorOutcome:
    processor: str
    run_key: str
    status: str  # "succeeded" | "skipped" | "deferred"
    records: int
    run_id: str
    data_version: str | None = None
    rerun_requested: bool = False


class Processor(ABC):
    """One output table, filled one date partition at a time."""

    name: ClassVar[str]
    phase: ClassVar[int]
    output: ClassVar[TableSpec]
    completion_topic: ClassVar[str]
    # Bump when the computation changes: every date's run key changes, so all are stale.
    code_version: ClassVar[str] = "1"
    # Every other processor's output this one reads (checked against its SQL by a test).
    reads: ClassVar[tuple[Input, ...]] = ()

    def provenance_extra(self, ctx: ProcessorContext) -> dict[str, str]:
        """Inputs that are not processor outputs (e.g. a stored payload's hash)."""
        return {}

    def arrival_order(self, ctx: ProcessorContext) -> str | None:
        """Where this run's own input stands among the date's inputs of its kind, if they can be
        superseded (a newer scrape of the same date): a run on an older one than the last
        success is skipped, so a late, older delivery never overwrites newer data."""
        return None

    # True where no fan-in guarantees the inputs are recorded before the trigger (Phase 2).
    waits_for_inputs: ClassVar[bool] = False

    def reads_for(self, ctx: ProcessorContext) -> tuple[Input, ...]:
        """What this run reads (default: `reads`; a run may read less, e.g. an empty payload)."""
        return self.reads

    def input_provenance(self, ctx: ProcessorContext) -> dict[str, str]:
        """What a run for ctx.analysis_date would be computed from, as of now."""
        return self.provenance_as_of(ctx.services.documents, ctx.analysis_date, reads=self.reads_for(ctx),
                                     extra=self.provenance_extra(ctx))

    def provenance_as_of(self, documents: "DocumentStore", day: date, *, reads: tuple[Input, ...] | None = None,
                         extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The provenance of a run for `day` reading `reads` (default: all of `reads`), as of now —
        what run keys, claim fingerprints and the staleness check all compare."""
        return data_versions.provenance(documents, code_version=self.code_version,
                                        reads=self.reads if reads is None else reads, day=day,
                                        season_start=season_start(day), extra=extra)

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
        if output.side_outputs:
            crash_points.crash_point(crash_points.PROCESSOR_HALF_LOADED, processor=self.name)
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
    """Run until no trigger that arrived meanwhile asks for another look (bounded)."""
    for _ in range(MAX_RERUNS):
        outcome = _run_once(processor, ctx)
        if not outcome.rerun_requested:
            return outcome
        log.info("inputs may have changed during the run; checking again",
                 extra={"fields": {"processor": processor.name, "analysis_date": ctx.analysis_date.isoformat()}})
    raise TransientError(f"{processor.name} {ctx.analysis_date}: inputs kept changing during {MAX_RERUNS} runs")


def _run_once(processor: Processor, ctx: ProcessorContext) -> ProcessorOutcome:
    provenance = processor.input_provenance(ctx)
    _require_inputs(processor, ctx, provenance)
    run_key = data_versions.fingerprint(provenance)
    try:
        claim = run_history.acquire(ctx.services.documents, processor.name, ctx.analysis_date, run_key, ctx.run_id,
                                    message_id=ctx.message_id, provenance=provenance,
                                    trigger=_trigger_record(ctx), policy=ctx.lease_policy,
                                    optional=frozenset(spec.key for spec in processor.reads if spec.optional),
                                    arrival=processor.arrival_order(ctx))
    except RunInProgressElsewhere as err:
        raise TransientError(str(err)) from None
    if isinstance(claim, Deferred):
        log.info("another run holds the date; it will check the inputs again", extra={"fields": {
            "processor": processor.name, "run_key": run_key, "holder_run_id": claim.holder_run_id}})
        return ProcessorOutcome(processor.name, run_key, "deferred", 0, ctx.run_id)
    if isinstance(claim, PriorSuccess):
        log.info("already done; announcing again", extra={"fields": {"processor": processor.name,
                                                                     "run_key": run_key, "prior_run_id": claim.run_id}})
        _announce(processor, ctx, claim.records, claim.data_version, claim.fence)
        return ProcessorOutcome(processor.name, run_key, "skipped", claim.records, claim.run_id, claim.data_version)
    records, version, finished = _work(processor, ctx, claim)
    crash_points.crash_point(crash_points.PROCESSOR_RECORDED, processor=processor.name)
    _announce(processor, ctx, records, version, claim.fence)
    return ProcessorOutcome(processor.name, run_key, "succeeded", records, ctx.run_id, version,
                            rerun_requested=finished.rerun_requested)


def _require_inputs(processor: Processor, ctx: ProcessorContext, provenance: Mapping[str, str]) -> None:
    """A processor that is not started by a fan-in (Phase 2) waits until what it reads on the
    date has a recorded version: rows loaded by a run that has not yet recorded itself would
    otherwise be read under a key that says they are absent."""
    if not processor.waits_for_inputs:
        return
    absent = [spec.key for spec in processor.reads_for(ctx)
              if spec.window != "before" and not spec.optional and provenance.get(spec.key) == data_versions.ABSENT]
    if absent:
        raise TransientError(f"{processor.name} {ctx.analysis_date}: waiting for {', '.join(absent)}")


def _announce(processor: Processor, ctx: ProcessorContext, records: int, version: str | None, fence: int,
              error: str | None = None) -> None:
    message = processor.completion(ctx, records).model_copy(update={"data_version": version, "run_fence": fence})
    if error is not None:
        message = message.model_copy(update={"success": False, "error": error[:4000]})
    ctx.publish(processor.completion_topic, message)


def _trigger_record(ctx: ProcessorContext) -> dict[str, Any] | None:
    """The trigger as it came, so the reconciler can deliver it again."""
    if ctx.trigger is None or ctx.trigger_topic is None:
        return None
    return {"topic": ctx.trigger_topic, "message_type": ctx.trigger.MESSAGE_TYPE,
            "payload": ctx.trigger.model_dump(mode="json")}


def _work(processor: Processor, ctx: ProcessorContext, lease: Lease) -> tuple[int, str, run_history.Finished]:
    documents = ctx.services.documents
    with Heartbeat(documents, lease, ctx.lease_policy) as heartbeat:
        try:
            output = _conformed(processor, processor.transform(ctx, processor.extract(ctx)))
            processor.validate(ctx, output.rows)
            version = output.data_version(processor.output)
            heartbeat.check()
            records = processor.load(ctx, output)
        except LeaseLost as err:  # nothing written: the holder does the work
            raise TransientError(str(err)) from None
        except Exception as err:
            _record_failure(processor, ctx, lease, err)
            raise
        crash_points.crash_point(crash_points.PROCESSOR_LOADED, processor=processor.name)
        crash_points.crash_point(crash_points.LEASE_OUTLIVED, processor=processor.name,
                                 usurp=lambda: _usurp(ctx, lease))
    try:
        finished = _record(processor, ctx, lease, RunStatus.SUCCEEDED, records, data_version=version)
    except LeaseLost as err:
        run_history.mark_needs_rerun(documents, processor.name, ctx.analysis_date, str(err))
        _history_row(processor, ctx, lease, "superseded", records, str(err), version)
        raise TransientError(f"{err}; it loaded after losing its lease, so the date will be recomputed") from None
    log.info("processed", extra={"fields": {"processor": processor.name, "run_key": lease.run_key,
                                            "records": records, "data_version": version, "fence": lease.fence}})
    return records, version, finished


def _record_failure(processor: Processor, ctx: ProcessorContext, lease: Lease, err: Exception) -> None:
    error = f"{type(err).__name__}: {err}"
    try:
        _record(processor, ctx, lease, RunStatus.FAILED, 0, error=error)
    except LeaseLost:
        return  # the holder's outcome stands
    if isinstance(err, PermanentError):  # it will be dead-lettered: say so downstream too
        _announce(processor, ctx, 0, None, lease.fence, error=error)


def _usurp(ctx: ProcessorContext, lease: Lease) -> None:
    """Fault injection: the lease expired while this run worked, and a redelivery of the same
    trigger took the date (its fencing token is now higher)."""
    documents = ctx.services.documents

    def take(tx) -> None:
        now = documents.now()
        data = tx.get(lease.path).data
        tx.update(lease.path, {"fence": int(data["fence"]) + 1, "run_id": f"usurper-{lease.run_id}",
                               "started_at": now, "lease_expires_at": now + ctx.lease_policy.ttl})
    documents.run_transaction(take)


def _conformed(processor: Processor, produced: list[dict[str, Any]] | ProcessorOutput) -> ProcessorOutput:
    output = produced if isinstance(produced, ProcessorOutput) else ProcessorOutput(rows=produced)
    try:
        return ProcessorOutput(rows=conform_rows(processor.output, output.rows),
                               side_outputs={spec: conform_rows(spec, rows)
                                             for spec, rows in output.side_outputs.items()})
    except SchemaMismatch as err:
        raise DataQualityError(str(err)) from None


def _record(processor: Processor, ctx: ProcessorContext, lease: Lease, status: RunStatus, records: int, *,
            error: str | None = None, data_version: str | None = None) -> run_history.Finished:
    # Fence first (cheap), then the warehouse row, then the fenced outcome: if recording in the
    # document store fails after the row, the redelivery redoes the (idempotent) work. A row the
    # warehouse takes in batches is staged in the outcome's own transaction instead, and staged
    # alone if that transaction fails, so the same rows are recorded either way.
    documents = ctx.services.documents
    if not run_history.holds(documents, lease):
        raise LeaseLost(f"{processor.name} {ctx.analysis_date}: run {lease.run_id} no longer holds fence "
                        f"{lease.fence}")
    attempt = _attempt(processor, ctx, lease, status.value, records, error, data_version)
    if not run_history.batches_attempts(ctx.services.warehouse):
        _write_attempt(ctx, attempt)
        return run_history.finish(documents, lease, status, records=records, error=error,
                                  data_version=data_version)
    try:
        return run_history.finish(documents, lease, status, records=records, error=error,
                                  data_version=data_version, attempt=attempt)
    except Exception:
        _write_attempt(ctx, attempt)
        raise


def _history_row(processor: Processor, ctx: ProcessorContext, lease: Lease, status: str, records: int,
                 error: str | None, data_version: str | None) -> None:
    _write_attempt(ctx, _attempt(processor, ctx, lease, status, records, error, data_version))


def _attempt(processor: Processor, ctx: ProcessorContext, lease: Lease, status: str, records: int,
             error: str | None, data_version: str | None) -> run_history.Attempt:
    return run_history.attempt(analysis_date=ctx.analysis_date, processor=processor.name, phase=processor.phase,
                               run_key=lease.run_key, run_id=ctx.run_id, correlation_id=ctx.correlation_id,
                               status=status, records=records, started_at=lease.started_at,
                               finished_at=ctx.services.documents.now(), error=error, data_version=data_version,
                               fence=lease.fence)


def _write_attempt(ctx: ProcessorContext, attempt: run_history.Attempt) -> None:
    if run_history.batches_attempts(ctx.services.warehouse):
        run_history.stage_attempt(ctx.services.documents, attempt)
    else:
        ctx.services.warehouse.append_rows(run_history.RUN_HISTORY_TABLE, [attempt.row], batch_id=attempt.batch_id)
