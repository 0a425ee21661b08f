"""The ingestion worker: an `ingestion` job (payload: operation, entity_id, snapshot_version?,
as_of?) fetches a tournament's fixtures or results and upserts them under its execution record.

    started -> fetched -> validated -> applied -> settlements -> reported -> completed | failed

- the snapshot version is the one asked for, else the content hash of the fetched payload; the
  ledger key `ingestion:{operation}:{entityId}:{snapshotVersion}` makes a replay of the same
  snapshot a no-op that reports the original outcome (another snapshot under a reused version is
  flagged, not applied, and fails the execution);
- rows are applied in chunks with markers (shared.ingestion.upsert), so a crash anywhere is
  finished by the redelivery without applying anything twice;
- a result that ends a match enqueues its settlement through the settlement command
  (`submit(job_type="settlement")`), at least once per (match, status timestamp): its own
  ledger outcome `enqueue:settlement:...` is marked only after the job is published, and the
  settlement itself is exactly once (its ledger);
- every attempt stores its report in the evidence store, on success and on failure (a provider
  outage after the client's retries, a bad payload, a reused snapshot version), announces it,
  and only then finishes the execution. A failed execution's job is dead-lettered with the reason.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from shared.config import ConfigError
from shared.executions.commands import submit
from shared.executions.jobs import Job, job_log_context
from shared.executions.ledger import Claim, IdempotencyLedger, checksum_of, ingestion_key, settlement_key
from shared.executions.state import COMPLETED, FAILED, IN_PROGRESS, TERMINAL, ExecutionStore, IllegalTransition
from shared.ingestion.provider import FixturesProvider, provider_for
from shared.ingestion.report import MAX_LISTED_REJECTIONS, Counts, IngestionReport, store_report
from shared.ingestion.rows import InvalidSnapshot, Operation, plan_snapshot
from shared.ingestion.upsert import apply_writes
from shared.ports.notifier import Notice
from shared.resilience import ProviderError
from shared.runtime import crash_points
from shared.runtime.errors import PermanentError
from shared.tournaments.model import Id
from shared.tournaments.store import TournamentStore

log = logging.getLogger("sportsflow.ingestion")

ProviderFactory = Callable[[], FixturesProvider]


class IngestionRequest(BaseModel):
    """The command's body (POST /ingestions) and the job's payload."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    operation: Operation
    entity_id: str = Id
    snapshot_version: str | None = Field(default=None, min_length=1, max_length=128,
                                         pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    as_of: AwareDatetime | None = Field(default=None, description="results as the provider knew them then")


class IngestionFailed(Exception):
    """The attempt cannot succeed; the message is the report's error."""


def handle_ingestion_job(job: Job, fctx) -> None:
    """The topology's handler: the provider from the settings (SPORTSFLOW_FIXTURES_PROVIDER_URL)."""
    ingestion_handler(lambda: provider_for(fctx.services.settings))(job, fctx)


def ingestion_handler(provider_factory: ProviderFactory) -> Callable[[Job, Any], None]:
    """A handler on a given provider (tests, `sportsflow ingest`)."""
    def handle(job: Job, fctx) -> None:
        with job_log_context(job, operation=f"ingestion.{job.payload.get('operation', 'unknown')}",
                             component=fctx.function.name, attempt=fctx.delivery_attempt):
            last = fctx.delivery_attempt >= _max_delivery_attempts(fctx.services.topology, fctx.function.name)
            ingest_job(fctx.services, job, provider_factory, last_delivery=last)
    return handle


def _max_delivery_attempts(topology, function_name: str) -> int:
    return min((s.max_delivery_attempts for s in topology.subscriptions if s.push_function == function_name),
               default=5)


def ingest_job(services, job: Job, provider_factory: ProviderFactory, *,
               last_delivery: bool = False) -> IngestionReport | None:
    """Run the job's attempt. An unexpected error (the store, a publish) stores this attempt's
    failed report and is raised, so the job is redelivered; on its last delivery the execution
    fails instead (with the report) and the job goes to the dead letter — never left in_progress."""
    if job.jobType != "ingestion":
        raise PermanentError(f"the ingestion worker got a {job.jobType} job")
    executions = ExecutionStore(services.documents)
    if executions.get(job.executionId).status in TERMINAL:
        log.info("job skipped: its execution is already finished")
        return None
    try:
        execution = executions.transition(job.executionId, IN_PROGRESS, step="started", detail={"jobId": job.jobId})
    except IllegalTransition as refused:  # cancelled or finished since we read it
        log.info("job skipped: its execution is already finished", extra={"fields": {"reason": str(refused)}})
        return None
    ingestion = Ingestion(services, job, execution.attempt, provider_factory)
    try:
        report = ingestion.run()
    except Exception as error:
        report = ingestion.report
        report.error = (f"{type(error).__name__}: {error} (delivery will be retried)" if not last_delivery else
                        f"{type(error).__name__}: {error} (the last delivery; submit the ingestion again)")
        report.finished_at = services.documents.now()
        if not last_delivery:
            store_report(services.evidence, report, now=services.documents.now())
            raise
    _finish(services, executions, job, report)
    if report.outcome == FAILED:
        raise PermanentError(report.error or "ingestion failed")
    return report


class Ingestion:
    """One attempt of one ingestion execution; `run()` always returns its report."""

    def __init__(self, services, job: Job, attempt: int, provider_factory: ProviderFactory):
        self.services, self.job, self.provider_factory = services, job, provider_factory
        self.documents = services.documents
        self.executions = ExecutionStore(self.documents)
        self.ledger = IdempotencyLedger(self.documents)
        self.report = IngestionReport(execution_id=job.executionId, job_id=job.jobId, request_id=job.requestId,
                                      attempt=attempt, operation=str(job.payload.get("operation", "?")),
                                      entity_id=job.entityId, started_at=self.documents.now())

    def run(self) -> IngestionReport:
        started = time.perf_counter()
        try:
            self._ingest(self._request())
            self.report.outcome = COMPLETED
        except IngestionFailed as failure:
            self.report.error = str(failure)
            log.warning("ingestion failed", extra={"fields": {"error": self.report.error}})
        self.report.timings_ms["total"] = _ms_since(started)
        self.report.finished_at = self.documents.now()
        return self.report

    def _request(self) -> IngestionRequest:
        try:
            request = IngestionRequest.model_validate(self.job.payload)
        except ValidationError as error:
            raise IngestionFailed(f"the job's payload is not an ingestion request: {error}") from None
        if request.entity_id != self.job.entityId:
            raise IngestionFailed(f"the job is for {self.job.entityId!r}, its payload for {request.entity_id!r}")
        return request

    def _ingest(self, request: IngestionRequest) -> None:
        payload = self._timed("fetch", lambda: self._fetch(request))
        snapshot = request.snapshot_version or f"sha256-{checksum_of(payload)[:20]}"
        key = ingestion_key(request.operation, request.entity_id, snapshot)
        self.report.snapshot_version, self.report.idempotency_key = snapshot, key
        self.executions.log_step(self.job.executionId, "fetched", snapshot_version=snapshot)
        try:
            plan = self._timed("validate", lambda: plan_snapshot(request.operation, request.entity_id, payload,
                                                                 self.documents))
        except InvalidSnapshot as invalid:
            raise IngestionFailed(f"the provider's {request.operation} of {request.entity_id} cannot be ingested: "
                                  f"{invalid}") from None
        self._reject(plan.rejected)
        self.executions.log_step(self.job.executionId, "validated", rows=len(plan.writes),
                                 rejected=len(plan.rejected))
        claim = self.ledger.claim(key, checksum_of(payload), self.job.executionId,
                                  detail={"snapshot_version": snapshot})
        self.report.decision, self.report.original_execution_id = claim.decision, claim.outcome.execution_id
        if claim.decision == "mismatch":
            raise IngestionFailed(f"snapshot {snapshot} of {request.operation} for {request.entity_id} was already "
                                  f"ingested by execution {claim.outcome.execution_id} with other content; nothing "
                                  f"was applied: send a new snapshot_version (or none: the content hash is used)")
        if claim.decision == "duplicate":
            self._report_original(claim)
            return
        applied = self._timed("apply", lambda: apply_writes(self.documents, key, plan.writes))
        self._reject(applied.rejected)
        self.report.counts = Counts(**applied.counts(), rejected=len(self.report.rejected))
        self.executions.log_step(self.job.executionId, "applied", **self.report.counts.model_dump(),
                                 chunks_applied=applied.chunks_applied, chunks_skipped=applied.chunks_skipped)
        crash_points.crash_point(crash_points.INGESTION_UPSERTED, target=key)
        self.report.settlements_enqueued = self._enqueue_settlements(request.entity_id, applied.ended_matches)
        self.ledger.mark_applied(key, {"counts": self.report.counts.model_dump(),
                                       "rejected": self.report.rejected,
                                       "settlements_enqueued": self.report.settlements_enqueued})

    def _fetch(self, request: IngestionRequest) -> Any:
        try:
            provider = self.provider_factory()
        except ConfigError as missing:
            raise IngestionFailed(str(missing)) from None
        self.report.provider = {"name": provider.name}
        try:
            return provider.fetch(request.operation, request.entity_id, as_of=request.as_of,
                                  idempotency_key=f"{self.job.executionId}:{request.operation}:{request.entity_id}")
        except ProviderError as error:
            raise IngestionFailed(f"the fixtures provider failed: {error}; nothing was ingested — submit the "
                                  f"ingestion again once the provider is back") from None
        finally:
            provider.close()

    def _enqueue_settlements(self, tournament_id: str, match_ids: list[str]) -> list[str]:
        store, enqueued = TournamentStore(self.documents), []
        for match_id in match_ids:
            match = store.match(tournament_id, match_id)
            if match.status != "ended" or match.status_timestamp is None:
                continue  # a later snapshot moved it on meanwhile
            key = f"enqueue:{settlement_key(match_id, match.status_timestamp)}"
            claim = self.ledger.claim(key, checksum_of([tournament_id, match_id]), self.job.executionId)
            if not claim.should_apply:
                continue
            submit(self.services, job_type="settlement", entity_id=match_id,
                   payload={"tournament_id": tournament_id, "match_id": match_id,
                            "status_timestamp": match.status_timestamp.isoformat()},
                   triggered_by=f"ingestion:{self.job.executionId}", request_id=self.job.requestId,
                   producer="ingestion_worker")
            self.ledger.mark_applied(key, {"match_id": match_id})
            enqueued.append(match_id)
        if enqueued:
            self.executions.log_step(self.job.executionId, "settlements enqueued", matches=enqueued)
        return enqueued

    def _report_original(self, claim: Claim) -> None:
        original = claim.outcome.summary
        self.report.counts = Counts(**original.get("counts", {}))
        self.report.rejected = list(original.get("rejected", []))
        self.report.settlements_enqueued = list(original.get("settlements_enqueued", []))
        log.info("ingestion replay is a no-op", extra={"fields": {
            "idempotency_key": claim.outcome.key, "original_execution_id": claim.outcome.execution_id,
            "first_applied_at": claim.outcome.first_applied_at.isoformat()}})

    def _reject(self, rejections) -> None:
        for rejection in rejections:
            if len(self.report.rejected) < MAX_LISTED_REJECTIONS:
                self.report.rejected.append(rejection.as_dict())
        self.report.counts = self.report.counts.model_copy(update={"rejected": len(self.report.rejected)})

    def _timed(self, name: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return work()
        finally:
            self.report.timings_ms[name] = _ms_since(started)


def _finish(services, executions: ExecutionStore, job: Job, report: IngestionReport) -> None:
    """Store the report, announce it, then finish the execution (a crash in between re-announces)."""
    key = store_report(services.evidence, report, now=services.documents.now())
    executions.log_step(job.executionId, "reported", report_key=key, outcome=report.outcome)
    _announce(services, report)
    crash_points.crash_point(crash_points.INGESTION_REPORTED, target=job.executionId)
    try:
        executions.transition(job.executionId, report.outcome, summary=report.summary(), error=report.error,
                              step=report.decision or report.outcome)
    except IllegalTransition:  # cancelled while it ran: what was applied is in (exactly once); say so
        executions.log_step(job.executionId, "finished after cancel", **report.summary())


def _announce(services, report: IngestionReport) -> None:
    subject = (f"ingestion {report.operation} of {report.entity_id}: {report.outcome}"
               + (f" ({report.decision})" if report.decision else ""))
    notice = Notice(notice_id=f"ingestion:{report.execution_id}:{report.attempt}", subject=subject,
                    outcome=report.outcome, execution_id=report.execution_id, report_key=report.key,
                    details={"counts": report.counts.model_dump(), "error": report.error,
                             "snapshot_version": report.snapshot_version})
    try:
        services.notifier.announce(notice)
    except Exception as error:  # the report is stored: a notice that did not go out is logged, not fatal
        log.warning("ingestion notification failed", extra={"fields": {"error": str(error),
                                                                        "report_key": report.key}})


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
