"""The ingestion report: what one attempt of an ingestion execution did, stored create-only in the
evidence store on success and on failure, under `ingestion-reports/{tournament}/{execution}/attempt-NNN.json`
(one per attempt: a redelivery after a crash writes its own, never over another's)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NonNegativeInt

REPORTS = "ingestion-reports"
REPORT_RETENTION = timedelta(days=400)
MAX_LISTED_REJECTIONS = 1000


class Counts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inserted: NonNegativeInt = 0
    updated: NonNegativeInt = 0
    unchanged: NonNegativeInt = 0
    rejected: NonNegativeInt = 0


class IngestionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    SCHEMA_VERSION: ClassVar[int] = 1
    schema_version: int = SCHEMA_VERSION
    execution_id: str
    job_id: str
    request_id: str
    attempt: NonNegativeInt
    operation: str
    entity_id: str
    outcome: Literal["completed", "failed"] = "failed"
    snapshot_version: str | None = None
    idempotency_key: str | None = None
    decision: str | None = Field(default=None, description="apply | resume | duplicate | mismatch (the ledger's)")
    original_execution_id: str | None = Field(default=None, description="who first applied this snapshot")
    counts: Counts = Counts()
    rejected: list[dict[str, str]] = Field(default_factory=list, description="kind, id, reason of each bad row")
    settlements_enqueued: list[str] = Field(default_factory=list)
    provider: dict[str, Any] = Field(default_factory=dict)
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)
    error: str | None = None

    @property
    def key(self) -> str:
        return report_key(self.entity_id, self.execution_id, self.attempt)

    def to_bytes(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, indent=1).encode()

    def summary(self) -> dict[str, Any]:
        """What the execution record keeps of it."""
        return {"report_key": self.key, "operation": self.operation, "snapshot_version": self.snapshot_version,
                "decision": self.decision, "original_execution_id": self.original_execution_id,
                "counts": self.counts.model_dump(), "settlements_enqueued": len(self.settlements_enqueued)}


def report_key(entity_id: str, execution_id: str, attempt: int) -> str:
    return f"{REPORTS}/{entity_id}/{execution_id}/attempt-{attempt:03d}.json"


def store_report(evidence, report: IngestionReport, *, now: datetime) -> str:
    evidence.put(report.key, report.to_bytes(), retain_until=now + REPORT_RETENTION,
                 metadata={"execution-id": report.execution_id, "outcome": report.outcome})
    return report.key


def read_report(evidence, key: str) -> IngestionReport:
    return IngestionReport.model_validate_json(evidence.get(key))


def reports_of(evidence, entity_id: str, execution_id: str) -> list[IngestionReport]:
    return [read_report(evidence, o.key) for o in sorted(evidence.list(f"{REPORTS}/{entity_id}/{execution_id}/"),
                                                          key=lambda o: o.key)]
