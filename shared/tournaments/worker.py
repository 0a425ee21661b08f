"""The settlement worker: a `settlement` job (payload: tournament_id, match_id,
status_timestamp, and `correction: true` for a re-settlement of a corrected score) settles one
match under its execution record.

- queued/in_progress -> in_progress (a redelivery restarts it, attempt + 1);
- cancelled or finished: the job is acknowledged and nothing runs (a duplicate delivery);
- the settlement is idempotent (shared.tournaments.settlement), so a redelivery after a crash
  finishes it and a replay reports the original outcome;
- a match that has not ended, or a bad payload, can never succeed: the execution fails with
  the reason and the job goes to the dead letter.
"""
from __future__ import annotations

import logging

from shared.executions.jobs import Job, job_log_context
from shared.executions.state import COMPLETED, FAILED, IN_PROGRESS, TERMINAL, ExecutionStore, IllegalTransition
from shared.runtime.errors import PermanentError
from shared.tournaments.correction import Resettlement
from shared.tournaments.settlement import MatchNotEnded, Settlement

log = logging.getLogger("sportsflow.settlement")


def handle_settlement_job(job: Job, fctx) -> None:
    with job_log_context(job, operation="settlement.apply", component=fctx.function.name,
                         attempt=fctx.delivery_attempt):
        settle_job(fctx.services.documents, job)


def settle_job(documents, job: Job) -> None:
    if job.jobType != "settlement":
        raise PermanentError(f"the settlement worker got a {job.jobType} job")
    executions = ExecutionStore(documents)
    current = executions.get(job.executionId)
    if current.status in TERMINAL:
        log.info("job skipped: its execution is already finished", extra={"fields": {"status": current.status}})
        return
    try:
        executions.transition(job.executionId, IN_PROGRESS, step="started", detail={"jobId": job.jobId})
    except IllegalTransition as refused:  # cancelled or finished since we read it
        log.info("job skipped: its execution is already finished", extra={"fields": {"reason": str(refused)}})
        return
    try:
        tournament_id, match_id, stamp = (job.payload[k] for k in ("tournament_id", "match_id", "status_timestamp"))
        settle = Resettlement(documents).resettle if job.payload.get("correction") is True \
            else Settlement(documents).settle
        result = settle(tournament_id, match_id, stamp, execution_id=job.executionId)
    except (MatchNotEnded, KeyError, LookupError, ValueError) as error:  # CorrectionRefused is a ValueError
        reason = f"settlement cannot run: {error}"
        executions.transition(job.executionId, FAILED, error=reason)
        raise PermanentError(reason) from error
    try:
        executions.transition(job.executionId, COMPLETED, summary=result.as_dict(), step=result.decision)
    except IllegalTransition:  # cancelled while it ran: the points are in (exactly once); say so
        executions.log_step(job.executionId, "applied after cancel", **result.as_dict())
