"""The audit log of admin commands (seed 002 §10.5): who triggered what, when.

One create-only document per command, `audit/{id}`, written before the command's effect,
with the store's clock."""
from __future__ import annotations

from typing import Any, Mapping

from shared.contracts.envelope import new_id
from shared.ports.documents import DocumentStore

AUDIT = "audit"


def audit(documents: DocumentStore, *, who: str, what: str, request_id: str,
          details: Mapping[str, Any] | None = None) -> str:
    audit_id = new_id()
    documents.create(f"{AUDIT}/{audit_id}", {"who": who, "what": what, "at": documents.now(),
                                             "request_id": request_id, "details": dict(details or {})})
    return audit_id


def audit_entries(documents: DocumentStore, *, limit: int = 100) -> list[dict[str, Any]]:
    return [d.data for d in documents.query(AUDIT, order_by="at", descending=True, limit=limit)]
