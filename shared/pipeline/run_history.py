"""processor_run_history: which (processor, run key) has succeeded, who is running it now.

The decision document lives in the document store (strongly consistent, transactional):
`processor_runs/{processor}__{run_key}`. A run takes a lease before working, so two
deliveries of the same trigger never process concurrently; a crashed run's lease expires
and the next delivery takes over. Every attempt's outcome is also appended to the
warehouse table `ops.processor_run_history`, so every run is traceable in SQL.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from shared.contracts.envelope import utc_now
from shared.ports.documents import DocumentStore, Transaction
from shared.ports.warehouse import FieldSpec, TableSpec, Warehouse

COLLECTION = "processor_runs"
DEFAULT_LEASE = timedelta(minutes=15)

RUN_HISTORY_TABLE = TableSpec(
    dataset="ops", name="processor_run_history", partition_field="analysis_date",
    description="one row per processor attempt outcome",
    fields=(
        FieldSpec("analysis_date", "DATE", "REQUIRED"),
        FieldSpec("processor", "STRING", "REQUIRED"),
        FieldSpec("phase", "INT64", "REQUIRED"),
        FieldSpec("run_key", "STRING", "REQUIRED"),
        FieldSpec("run_id", "STRING", "REQUIRED"),
        FieldSpec("correlation_id", "STRING"),
        FieldSpec("status", "STRING", "REQUIRED", "succeeded | skipped | failed"),
        FieldSpec("records", "INT64"),
        FieldSpec("started_at", "TIMESTAMP", "REQUIRED"),
        FieldSpec("finished_at", "TIMESTAMP", "REQUIRED"),
        FieldSpec("error", "STRING"),
    ),
)


class RunStatus(str, Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RunInProgressElsewhere(Exception):
    """Another live run holds the lease: try again later (the caller raises TransientError)."""


@dataclass(frozen=True)
class Lease:
    path: str
    run_id: str
    started_at: datetime


@dataclass(frozen=True)
class PriorSuccess:
    run_id: str
    records: int


def run_path(processor: str, run_key: str) -> str:
    return f"{COLLECTION}/{processor}__{run_key}"


def acquire(documents: DocumentStore, processor: str, run_key: str, run_id: str, *,
            lease: timedelta = DEFAULT_LEASE) -> Lease | PriorSuccess:
    """The lease for this run, or the earlier success that makes the run unnecessary."""
    path = run_path(processor, run_key)

    def claim(tx: Transaction) -> Lease | PriorSuccess:
        now = utc_now()
        current = tx.get(path)
        data: dict[str, Any] = current.data if current else {}
        if data.get("status") == RunStatus.SUCCEEDED:
            return PriorSuccess(run_id=data["run_id"], records=int(data.get("records", 0)))
        if (data.get("status") == RunStatus.RUNNING and data.get("run_id") != run_id
                and data["lease_expires_at"] > now):
            raise RunInProgressElsewhere(f"{processor} {run_key} is being run by {data['run_id']} "
                                         f"until {data['lease_expires_at'].isoformat()}")
        tx.set(path, {"processor": processor, "run_key": run_key, "status": RunStatus.RUNNING.value,
                      "run_id": run_id, "started_at": now, "lease_expires_at": now + lease,
                      "attempts": int(data.get("attempts", 0)) + 1})
        return Lease(path=path, run_id=run_id, started_at=now)

    return documents.run_transaction(claim)


def finish(documents: DocumentStore, lease: Lease, status: RunStatus, *, records: int = 0,
           error: str | None = None) -> None:
    documents.update(lease.path, {"status": status.value, "run_id": lease.run_id, "records": records,
                                  "finished_at": utc_now(), "error": error})


def record_attempt(warehouse: Warehouse, *, analysis_date: date, processor: str, phase: int, run_key: str,
                   run_id: str, correlation_id: str, status: str, records: int, started_at: datetime,
                   error: str | None = None) -> None:
    row = {"analysis_date": analysis_date, "processor": processor, "phase": phase, "run_key": run_key,
           "run_id": run_id, "correlation_id": correlation_id, "status": status, "records": records,
           "started_at": started_at, "finished_at": utc_now(), "error": error}
    warehouse.append_rows(RUN_HISTORY_TABLE, [row], batch_id=f"{run_id}:{processor}:{run_key}:{status}")
