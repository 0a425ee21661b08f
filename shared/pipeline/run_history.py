"""processor_run_history: one decision document per (processor, date), and a row per attempt.

`processor_runs/{processor}__{date}` (strongly consistent, transactional) says which run key
last succeeded for the date, and who holds the run lease now:

- **Run key.** A hash of the run's provenance (data_versions): the same inputs again are a
  no-op (`PriorSuccess`, announced again); new inputs run again.
- **Lease.** One run per (processor, date) at a time, whatever its run key, so a run on old
  inputs can never overwrite a newer one concurrently. The lease lives `ttl` (never longer
  than the function's timeout) on the document store's clock and is renewed by a heartbeat
  while the run works, so a crashed run frees its date within one ttl.
- **Fencing token.** Every acquisition increments `fence`; renewals and the outcome are
  written only while the fence is still the run's own, so a run that lost its lease (a
  zombie) can never record over the holder. A zombie that had already loaded marks the date
  `needs_rerun`, so the next delivery recomputes what it may have overwritten.
- **Waiting without burning deliveries.** A delivery of a *different* trigger that meets a
  live lease sets `rerun_requested` and is acknowledged (`Deferred`): the holder checks its
  inputs again when it finishes. A redelivery of the holder's *own* trigger is told to retry
  (`RunInProgressElsewhere`): its lease expires within one ttl, well inside the delivery budget.

Every attempt's outcome is also appended to the warehouse table `ops.processor_run_history`,
so every run is traceable in SQL. Where the warehouse takes batches (the embedded DuckDB), the
row is staged as a document in the very transaction that records the outcome
(`run_history_outbox/{batch id}`) and `flush_attempts` appends every staged row in one warehouse
statement at the end of each delivery (and at start, for rows a dead process staged): one
DuckDB statement a delivery instead of a transaction a run, and never a row lost or doubled — a
row is unstaged only after it is in the warehouse, and a row whose key (run id, processor, run
key, status: what its batch id spells) is already there is not appended again.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, Mapping

from shared.pipeline import data_versions
from shared.ports.documents import DocumentStore, Transaction
from shared.ports.warehouse import FieldSpec, TableSpec, Warehouse

COLLECTION = "processor_runs"
OUTBOX = "run_history_outbox"
MAX_LEASE = timedelta(seconds=60)
log = logging.getLogger("sportsflow.pipeline.run_history")

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
        FieldSpec("status", "STRING", "REQUIRED", "succeeded | failed | superseded (lost its lease)"),
        FieldSpec("records", "INT64"),
        FieldSpec("started_at", "TIMESTAMP", "REQUIRED"),
        FieldSpec("finished_at", "TIMESTAMP", "REQUIRED"),
        FieldSpec("error", "STRING"),
        FieldSpec("data_version", "STRING", description="content hash of the rows written"),
        FieldSpec("fence", "INT64", description="the run's fencing token"),
    ),
)


class RunStatus(str, Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RunInProgressElsewhere(Exception):
    """An earlier delivery of the same trigger holds a live lease: retry later (TransientError)."""


class LeaseLost(Exception):
    """The run's fencing token is no longer current: another run took over the date."""


@dataclass(frozen=True)
class LeasePolicy:
    ttl: timedelta = MAX_LEASE

    @classmethod
    def for_timeout(cls, timeout_s: int) -> "LeasePolicy":
        """A lease never outlives the function that holds it (the topology's timeout)."""
        return cls(ttl=min(MAX_LEASE, timedelta(seconds=timeout_s)))

    @property
    def heartbeat_every(self) -> float:
        return self.ttl.total_seconds() / 3


@dataclass(frozen=True)
class Lease:
    path: str
    processor: str
    analysis_date: date
    run_id: str
    run_key: str
    fence: int
    started_at: datetime


@dataclass(frozen=True)
class PriorSuccess:
    run_id: str
    records: int
    fence: int
    data_version: str | None


@dataclass(frozen=True)
class Deferred:
    """Another trigger's live run will check the inputs again when it finishes."""
    holder_run_id: str


@dataclass(frozen=True)
class Finished:
    rerun_requested: bool


def run_path(processor: str, day: date | str) -> str:
    day_text = day.isoformat() if isinstance(day, date) else day
    return f"{COLLECTION}/{processor}__{day_text}"


def acquire(documents: DocumentStore, processor: str, day: date, run_key: str, run_id: str, *,
            message_id: str, provenance: Mapping[str, str], trigger: Mapping[str, Any] | None = None,
            policy: LeasePolicy = LeasePolicy(), optional: frozenset[str] = frozenset(),
            arrival: str | None = None) -> Lease | PriorSuccess | Deferred:
    """The lease for this run, the earlier success that makes it unnecessary, or Deferred.
    The earlier success stands while everything it read is unchanged (`optional` inputs that
    appeared since — a fallback source it did not need — do not count). A run whose `arrival`
    order is older than the last success's is superseded: the success stands."""
    path = run_path(processor, day)

    def claim(tx: Transaction) -> Lease | PriorSuccess | Deferred:
        now = documents.now()
        current = tx.get(path)
        data: dict[str, Any] = current.data if current else {}
        if _live(data, now) and data.get("run_id") != run_id:
            if data.get("message_id") != message_id:
                tx.update(path, {"rerun_requested": True})
                return Deferred(holder_run_id=data["run_id"])
            raise RunInProgressElsewhere(f"{processor} {day} is being run by {data['run_id']} "
                                         f"until {data['lease_expires_at'].isoformat()}")
        # Only a clean success counts: a run that crashed or failed may have half-loaded.
        if data.get("status") == RunStatus.SUCCEEDED and not data.get("needs_rerun") and (
                data.get("succeeded_run_key") == run_key
                or data_versions.still_holds(data.get("succeeded_provenance"), provenance, optional)
                or _superseded(arrival, data.get("succeeded_arrival"))):
            return PriorSuccess(run_id=data["succeeded_run_id"], records=int(data.get("records", 0)),
                                fence=int(data.get("succeeded_fence", 0)), data_version=data.get("data_version"))
        fence = int(data.get("fence", 0)) + 1
        tx.set(path, {**data, "processor": processor, "analysis_date": day.isoformat(),
                      "status": RunStatus.RUNNING.value, "run_id": run_id, "message_id": message_id,
                      "run_key": run_key, "provenance": dict(provenance), "fence": fence, "started_at": now,
                      "arrival": arrival,
                      "lease_expires_at": now + policy.ttl, "rerun_requested": False, "needs_rerun": False,
                      "attempts": int(data.get("attempts", 0)) + 1,
                      "trigger": dict(trigger) if trigger else data.get("trigger")})
        return Lease(path=path, processor=processor, analysis_date=day, run_id=run_id, run_key=run_key,
                     fence=fence, started_at=now)

    return documents.run_transaction(claim)


def _superseded(arrival: str | None, succeeded_arrival: str | None) -> bool:
    return arrival is not None and succeeded_arrival is not None and arrival < succeeded_arrival


def _live(data: Mapping[str, Any], now: datetime) -> bool:
    return data.get("status") == RunStatus.RUNNING and data.get("lease_expires_at") is not None \
        and data["lease_expires_at"] > now


def holds(documents: DocumentStore, lease: Lease) -> bool:
    document = documents.get(lease.path)
    return bool(document and document.data.get("fence") == lease.fence
                and document.data.get("status") == RunStatus.RUNNING)


def renew(documents: DocumentStore, lease: Lease, policy: LeasePolicy) -> bool:
    """Extend the lease by one ttl; False if the run no longer holds it."""
    def extend(tx: Transaction) -> bool:
        document = tx.get(lease.path)
        if not document or document.data.get("fence") != lease.fence:
            return False
        tx.update(lease.path, {"lease_expires_at": documents.now() + policy.ttl})
        return True
    return documents.run_transaction(extend)


def finish(documents: DocumentStore, lease: Lease, status: RunStatus, *, records: int = 0,
           error: str | None = None, data_version: str | None = None, attempt: "Attempt | None" = None) -> Finished:
    """Record the run's outcome — only while it still holds the lease (else LeaseLost). A
    success also makes `data_version` the date's current version of the processor. `attempt`,
    if given, is staged for ops.processor_run_history in the same transaction."""
    version_path = data_versions.version_path(lease.processor, lease.analysis_date)

    def record(tx: Transaction) -> Finished:
        now = documents.now()
        document = tx.get(lease.path)
        if not document or document.data.get("fence") != lease.fence:
            raise LeaseLost(f"{lease.processor} {lease.analysis_date}: run {lease.run_id} (fence {lease.fence}) "
                            f"was superseded by fence {document.data.get('fence') if document else None}")
        changes: dict[str, Any] = {"status": status.value, "finished_at": now, "lease_expires_at": None,
                                   "error": error, "last_run_id": lease.run_id}
        if status == RunStatus.SUCCEEDED:
            changes.update(succeeded_run_key=lease.run_key, succeeded_run_id=lease.run_id,
                           succeeded_fence=lease.fence, records=records, data_version=data_version,
                           succeeded_provenance=document.data.get("provenance"), failures=0, redrives=0,
                           succeeded_arrival=document.data.get("arrival"))
            tx.set(version_path, {"processor": lease.processor, "date": lease.analysis_date.isoformat(),
                                  "version": data_version, "run_key": lease.run_key, "fence": lease.fence,
                                  "run_id": lease.run_id, "recorded_at": now})
        else:
            changes["failures"] = int(document.data.get("failures", 0)) + 1
        tx.update(lease.path, changes)
        if attempt is not None:
            tx.set(attempt.outbox_path, attempt.document)
        return Finished(rerun_requested=bool(document.data.get("rerun_requested")))

    return documents.run_transaction(record)


def mark_needs_rerun(documents: DocumentStore, processor: str, day: date, reason: str) -> None:
    """After a zombie's load: whatever holds or next takes the date recomputes it."""
    documents.run_transaction(lambda tx: tx.update(run_path(processor, day), {
        "needs_rerun": True, "needs_rerun_reason": reason, "rerun_requested": True}))


def break_dead_leases(documents: DocumentStore) -> list[str]:
    """End every `running` lease now. Only for a caller that knows no other process can be
    working on this store (the embedded backend: DuckDB admits one process at a time)."""
    broken = []
    for run in runs_with_status(documents, RunStatus.RUNNING):
        path = run_path(run["processor"], run["analysis_date"])

        def expire(tx, fence=run["fence"]) -> bool:
            current = tx.get(path)
            if not current or current.data.get("fence") != fence or current.data.get("status") != RunStatus.RUNNING:
                return False
            tx.update(path, {"lease_expires_at": documents.now()})
            return True

        if documents.run_transaction(expire):
            broken.append(path)
    return broken


def stored_trigger(run: Mapping[str, Any]) -> tuple[str, Any] | None:
    """(topic, message) of the trigger a run was started by, kept so it can be delivered again."""
    from shared.contracts import registry
    trigger = run.get("trigger")
    if not trigger:
        return None
    return trigger["topic"], registry.by_name(trigger["message_type"]).model_validate(trigger["payload"])


def runs_for(documents: DocumentStore, day: date) -> dict[str, dict[str, Any]]:
    """processor → its run document for `day`."""
    return {doc.data["processor"]: doc.data
            for doc in documents.query(COLLECTION, [("analysis_date", "==", day.isoformat())])}


def runs_with_status(documents: DocumentStore, status: RunStatus) -> list[dict[str, Any]]:
    return [doc.data for doc in documents.query(COLLECTION, [("status", "==", status.value)])]


class Heartbeat:
    """Renews a lease every third of its ttl while the run works; `lost` once renewal fails.

    Every heartbeat of the process is kept by one shared thread (`_Beater`): starting a thread
    per run cost more than the run's whole bookkeeping. Leaving the block waits for a renewal
    in progress, so a lease is never renewed after its run stopped working."""

    def __init__(self, documents: DocumentStore, lease: Lease, policy: LeasePolicy):
        self._documents, self._lease, self._policy = documents, lease, policy
        self._renewing = threading.Lock()
        self._stopped = False
        self.next_beat_at = 0.0
        self.lost = False

    def __enter__(self) -> "Heartbeat":
        self.next_beat_at = time.monotonic() + self._policy.heartbeat_every
        _BEATER.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _BEATER.remove(self)
        with self._renewing:
            self._stopped = True

    def beat(self) -> None:
        """One renewal (called by the beater when due); schedules the next one."""
        with self._renewing:
            if self._stopped or self.lost:
                self.next_beat_at = float("inf")
                return
            self.next_beat_at = time.monotonic() + self._policy.heartbeat_every
            try:
                if not renew(self._documents, self._lease, self._policy):
                    self.lost = True
                    self.next_beat_at = float("inf")
            except Exception:  # a blip: the next beat retries; the ttl covers two missed beats
                log.warning("lease renewal failed", exc_info=True,
                            extra={"fields": {"processor": self._lease.processor, "fence": self._lease.fence}})

    def check(self) -> None:
        """Raise LeaseLost if the run no longer holds its lease (checked again before effects)."""
        if self.lost or not holds(self._documents, self._lease):
            self.lost = True
            raise LeaseLost(f"{self._lease.processor} {self._lease.analysis_date}: lease (fence "
                            f"{self._lease.fence}) lost before writing")


class _Beater:
    """One daemon thread that beats every registered heartbeat when it is due."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._beats: set[Heartbeat] = set()
        self._thread: threading.Thread | None = None

    def add(self, heartbeat: Heartbeat) -> None:
        with self._wake:
            self._beats.add(heartbeat)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name="lease-heartbeats")
                self._thread.start()
            self._wake.notify()

    def remove(self, heartbeat: Heartbeat) -> None:
        with self._wake:
            self._beats.discard(heartbeat)

    def _run(self) -> None:
        while True:
            for heartbeat in self._due():
                heartbeat.beat()

    def _due(self) -> list[Heartbeat]:
        """Wait until a heartbeat is due; the due ones."""
        with self._wake:
            while True:
                now = time.monotonic()
                due = [beat for beat in self._beats if beat.next_beat_at <= now]
                if due:
                    return due
                soonest = min([beat.next_beat_at for beat in self._beats] + [now + 3600])
                self._wake.wait(soonest - now)


_BEATER = _Beater()


@dataclass(frozen=True)
class Attempt:
    """One ops.processor_run_history row and the batch id that makes appending it idempotent."""
    batch_id: str
    row: Mapping[str, Any]

    @property
    def outbox_path(self) -> str:
        return f"{OUTBOX}/{self.batch_id.replace('/', '_')}"

    @property
    def document(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "row": {**self.row, "analysis_date": self.row["analysis_date"].isoformat()}}


def attempt(*, analysis_date: date, processor: str, phase: int, run_key: str, run_id: str, correlation_id: str,
            status: str, records: int, started_at: datetime, finished_at: datetime, error: str | None = None,
            data_version: str | None = None, fence: int | None = None) -> Attempt:
    row = {"analysis_date": analysis_date, "processor": processor, "phase": phase, "run_key": run_key,
           "run_id": run_id, "correlation_id": correlation_id, "status": status, "records": records,
           "started_at": started_at, "finished_at": finished_at, "error": error, "data_version": data_version,
           "fence": fence}
    return Attempt(f"{run_id}:{processor}:{run_key}:{status}", row)


# What makes an attempt's row one of a kind (its batch id spells the same fields).
ATTEMPT_KEY = ("run_id", "processor", "run_key", "status")


def batches_attempts(warehouse: Warehouse) -> bool:
    """Whether attempts are staged and flushed in batches (a warehouse that appends rows not yet
    there in one statement; the pipeline flushes after every delivery) or appended one by one."""
    return hasattr(warehouse, "append_unique")


def stage_attempt(documents: DocumentStore, row: Attempt) -> None:
    """Stage an attempt that is not part of an outcome's transaction (a zombie's superseded row)."""
    documents.set(row.outbox_path, row.document)


def flush_attempts(documents: DocumentStore, warehouse: Warehouse) -> int:
    """Append every staged attempt to ops.processor_run_history, then unstage them; returns how
    many rows the warehouse took (a row a crash left staged after appending is not appended again)."""
    staged = documents.query(OUTBOX)
    if not staged:
        return 0
    appended = warehouse.append_unique(RUN_HISTORY_TABLE, [doc.data["row"] for doc in staged], key=ATTEMPT_KEY)
    documents.run_transaction(lambda tx: [tx.delete(doc.path) for doc in staged])
    return appended
