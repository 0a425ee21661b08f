"""The execution state machine: queued -> in_progress -> completed | failed | cancelled.

An execution is one document `executions/{id}`; its step log is `executions/{id}/steps/{n}`.
Every transition is a document-store transaction that reads the current status and refuses a
move the machine does not allow (IllegalTransition), so two workers racing on one execution
cannot both finish it, and a cancelled execution never turns completed. Times are the
store's clock (`documents.now()`), never an instance's.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from shared.contracts.envelope import new_id
from shared.ports.documents import DocumentStore, Transaction

EXECUTIONS = "executions"

QUEUED = "queued"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
STATES = (QUEUED, IN_PROGRESS, COMPLETED, FAILED, CANCELLED)
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED})

# The only legal moves. A redelivered job may start its in_progress execution again
# (in_progress -> in_progress is a recorded restart, attempt + 1), never a terminal one.
LEGAL_TRANSITIONS: Mapping[str, frozenset[str]] = {
    QUEUED: frozenset({IN_PROGRESS, CANCELLED}),
    IN_PROGRESS: frozenset({IN_PROGRESS, COMPLETED, FAILED, CANCELLED}),
    COMPLETED: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}


class ExecutionError(Exception):
    pass


class ExecutionNotFound(ExecutionError):
    pass


class IllegalTransition(ExecutionError):
    """The machine does not allow this move from the execution's current status."""

    def __init__(self, execution_id: str, current: str, target: str):
        allowed = ", ".join(sorted(LEGAL_TRANSITIONS[current])) or "nothing (terminal)"
        super().__init__(f"execution {execution_id}: {current} -> {target} is not allowed "
                         f"(from {current}: {allowed})")
        self.current, self.target = current, target


def is_legal(current: str, target: str) -> bool:
    return target in LEGAL_TRANSITIONS.get(current, frozenset())


@dataclass(frozen=True)
class Execution:
    execution_id: str
    job_type: str
    entity_id: str
    status: str
    triggered_by: str
    request_id: str
    created_at: datetime
    updated_at: datetime
    attempt: int
    summary: dict[str, Any]
    error: str | None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> "Execution":
        return cls(execution_id=data["execution_id"], job_type=data["job_type"], entity_id=data["entity_id"],
                   status=data["status"], triggered_by=data["triggered_by"], request_id=data["request_id"],
                   created_at=data["created_at"], updated_at=data["updated_at"], attempt=data.get("attempt", 0),
                   summary=dict(data.get("summary") or {}), error=data.get("error"))

    def as_dict(self) -> dict[str, Any]:
        return {"execution_id": self.execution_id, "job_type": self.job_type, "entity_id": self.entity_id,
                "status": self.status, "triggered_by": self.triggered_by, "request_id": self.request_id,
                "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
                "attempt": self.attempt, "summary": self.summary, "error": self.error}


@dataclass(frozen=True)
class Step:
    seq: int
    at: datetime
    name: str
    status: str
    detail: dict[str, Any]


def execution_path(execution_id: str) -> str:
    return f"{EXECUTIONS}/{execution_id}"


def _step_path(execution_id: str, seq: int) -> str:
    return f"{execution_path(execution_id)}/steps/{seq:06d}"


class ExecutionStore:
    """Executions and their step logs on the document store."""

    def __init__(self, documents: DocumentStore):
        self._documents = documents

    def create(self, *, job_type: str, entity_id: str, triggered_by: str, request_id: str,
               execution_id: str | None = None) -> Execution:
        """A queued execution (create-only: an id is never reused)."""
        execution_id = execution_id or new_id()
        now = self._documents.now()
        data = {"execution_id": execution_id, "job_type": job_type, "entity_id": entity_id, "status": QUEUED,
                "triggered_by": triggered_by, "request_id": request_id, "created_at": now, "updated_at": now,
                "attempt": 0, "summary": {}, "error": None, "steps": 1}

        def create(tx: Transaction) -> None:
            tx.create(execution_path(execution_id), data)
            tx.create(_step_path(execution_id, 0), _step_data(0, now, "created", QUEUED,
                                                               {"triggered_by": triggered_by}))
        self._documents.run_transaction(create)
        return Execution.from_data(data)

    def get(self, execution_id: str) -> Execution:
        document = self._documents.get(execution_path(execution_id))
        if document is None:
            raise ExecutionNotFound(f"no execution {execution_id!r} (see `sportsflow executions list`)")
        return Execution.from_data(document.data)

    def transition(self, execution_id: str, target: str, *, step: str | None = None,
                   summary: Mapping[str, Any] | None = None, error: str | None = None,
                   detail: Mapping[str, Any] | None = None) -> Execution:
        """Move to `target` in one transaction, with a step in the log; IllegalTransition otherwise."""
        if target not in STATES:
            raise ValueError(f"unknown execution status {target!r}; known: {', '.join(STATES)}")

        def move(tx: Transaction) -> dict[str, Any]:
            current = _read(tx, execution_id)
            if not is_legal(current["status"], target):
                raise IllegalTransition(execution_id, current["status"], target)
            now = self._documents.now()
            changes: dict[str, Any] = {"status": target, "updated_at": now, "steps": current["steps"] + 1}
            if target == IN_PROGRESS:
                changes["attempt"] = current.get("attempt", 0) + 1
            if summary is not None:
                changes["summary"] = dict(summary)
            if error is not None:
                changes["error"] = error
            tx.update(execution_path(execution_id), changes)
            step_detail = {**(detail or {}), **({"error": error} if error else {})}
            tx.create(_step_path(execution_id, current["steps"]),
                      _step_data(current["steps"], now, step or target, target, step_detail))
            return {**current, **changes}
        return Execution.from_data(self._documents.run_transaction(move))

    def log_step(self, execution_id: str, name: str, **detail: Any) -> None:
        """A progress step of a running execution (the status does not change)."""
        def append(tx: Transaction) -> None:
            current = _read(tx, execution_id)
            now = self._documents.now()
            tx.update(execution_path(execution_id), {"steps": current["steps"] + 1, "updated_at": now})
            tx.create(_step_path(execution_id, current["steps"]),
                      _step_data(current["steps"], now, name, current["status"], detail))
        self._documents.run_transaction(append)

    def steps(self, execution_id: str) -> list[Step]:
        documents = self._documents.query(f"{execution_path(execution_id)}/steps")
        return [Step(seq=d.data["seq"], at=d.data["at"], name=d.data["name"], status=d.data["status"],
                     detail=dict(d.data.get("detail") or {})) for d in documents]

    def list(self, *, status: str | None = None, job_type: str | None = None, limit: int = 50) -> list[Execution]:
        filters = [(name, "==", value) for name, value in (("status", status), ("job_type", job_type)) if value]
        documents = self._documents.query(EXECUTIONS, filters, order_by="created_at", descending=True, limit=limit)
        return [Execution.from_data(d.data) for d in documents]


def _read(tx: Transaction, execution_id: str) -> dict[str, Any]:
    document = tx.get(execution_path(execution_id))
    if document is None:
        raise ExecutionNotFound(f"no execution {execution_id!r}")
    return document.data


def _step_data(seq: int, at: datetime, name: str, status: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    return {"seq": seq, "at": at, "name": name, "status": status, "detail": dict(detail)}
