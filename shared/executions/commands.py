"""Heavy work as a command (SPEC §4): record a queued execution, audit it, enqueue its job,
answer at once with the execution id. The worker does the work under the execution record.

A publish that fails leaves the execution queued and says so (`failed` with the reason), so a
command is never silently lost; one that timed out after Pub/Sub accepted it is harmless,
because the worker's effect is idempotent (the ledger) and the execution's moves are checked.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

from shared.contracts.codec import encode
from shared.contracts.envelope import new_id
from shared.executions.audit import audit
from shared.executions.jobs import JOB_TOPICS, Job, job_log_context
from shared.executions.state import FAILED, Execution, ExecutionStore, IllegalTransition
from shared.runtime import crash_points

log = logging.getLogger("sportsflow.executions")


@dataclass(frozen=True)
class Accepted:
    execution: Execution
    job: Job

    def body(self, base_url: str = "") -> dict[str, Any]:
        return {"execution_id": self.execution.execution_id, "status": self.execution.status,
                "job_id": self.job.jobId, "status_url": f"{base_url}/executions/{self.execution.execution_id}"}


def submit(services, *, job_type: str, entity_id: str, payload: Mapping[str, Any], triggered_by: str,
           request_id: str | None = None, producer: str = "executions") -> Accepted:
    request_id = request_id or new_id()
    documents = services.documents
    execution = ExecutionStore(documents).create(job_type=job_type, entity_id=entity_id,
                                                 triggered_by=triggered_by, request_id=request_id)
    audit(documents, who=triggered_by, what=f"{job_type}.submit", request_id=request_id,
          details={"execution_id": execution.execution_id, "entity_id": entity_id, "payload": dict(payload)})
    job = Job(jobId=new_id(), executionId=execution.execution_id, requestId=request_id, jobType=job_type,
              entityId=entity_id, enqueuedAt=documents.now(), payload=dict(payload))
    with job_log_context(job, operation=f"{job_type}.submit", component=producer):
        encoded = encode(job, run_id=job.jobId, correlation_id=request_id, producer=producer)
        try:
            services.bus.publish(JOB_TOPICS[job_type], encoded.data, encoded.attributes)
        except Exception as error:
            _fail_unpublished(ExecutionStore(documents), execution, error)
            raise
        log.info("job enqueued", extra={"fields": {"topic": JOB_TOPICS[job_type]}})
        crash_points.crash_point(crash_points.PUBLISH_DELIVERED, topic=JOB_TOPICS[job_type])
    return Accepted(execution, job)


def cancel(services, execution_id: str, *, who: str, request_id: str | None = None) -> Execution:
    """queued or in_progress -> cancelled (audited); a finished execution refuses (IllegalTransition)."""
    request_id = request_id or new_id()
    audit(services.documents, who=who, what="execution.cancel", request_id=request_id,
          details={"execution_id": execution_id})
    return ExecutionStore(services.documents).transition(execution_id, "cancelled", step="cancelled",
                                                         detail={"by": who})


def _fail_unpublished(executions: ExecutionStore, execution: Execution, error: Exception) -> None:
    try:
        executions.transition(execution.execution_id, "in_progress", step="publish")
        executions.transition(execution.execution_id, FAILED,
                              error=f"the job could not be enqueued ({error}); submit the command again")
    except IllegalTransition:
        pass
