"""The job contract (seed 002 §7.2): every job message carries these ids, whatever its type.

A job type names its topic; its retry policy (backoff, attempts) and dead letter are that
topic's subscription in the topology (`sportsflow topology`), so they are provisioned by
Terraform with everything else.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Literal

from pydantic import AwareDatetime, Field, NonNegativeInt

from shared.contracts.envelope import Message
from shared.observability.logging import log_context

JobType = Literal["settlement", "ingestion"]
JOB_TOPICS: dict[str, str] = {"settlement": "settlement-jobs", "ingestion": "ingestion-jobs"}
JOB_DOMAINS: dict[str, str] = {"settlement": "tournaments", "ingestion": "ingestion"}


class Job(Message):
    """A unit of heavy work for a worker; `payload` is the job type's own arguments."""
    MESSAGE_TYPE = "Job"
    jobId: str = Field(min_length=1, max_length=128)
    executionId: str = Field(min_length=1, max_length=128)
    requestId: str = Field(min_length=1, max_length=128)
    jobType: JobType
    entityId: str = Field(min_length=1, max_length=256, description="tournamentId, matchId, ...")
    attempt: NonNegativeInt = 1
    enqueuedAt: AwareDatetime
    payload: dict[str, Any] = Field(default_factory=dict)


@contextmanager
def job_log_context(job: Job, *, operation: str, component: str, attempt: int | None = None) -> Iterator[None]:
    """Every log line of a job's work carries the contract's correlation fields (seed 002 §11.3)."""
    with log_context(requestId=job.requestId, executionId=job.executionId, jobId=job.jobId,
                     domain=JOB_DOMAINS[job.jobType], operation=operation, component=component,
                     attempt=attempt if attempt is not None else job.attempt):
        yield
