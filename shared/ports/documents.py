"""Document store port: Firestore's model, reduced to what we use.

Paths alternate collection/document: "fanin/2025-01-15", "fanin/2025-01-15/parts/p1".
`version` is an opaque token that changes on every write; pass it back as a precondition.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Literal, Mapping, Protocol, Sequence, TypeVar

T = TypeVar("T")
FilterOp = Literal["==", "!=", "<", "<=", ">", ">=", "in"]
Filter = tuple[str, FilterOp, Any]

MAX_BATCH_WRITES = 500  # Firestore's limit of writes in one transaction or batch


def is_document_id(value: str) -> bool:
    """Whether a caller-given id names one document of a collection (no "/", not "." or ".."):
    ids typed by a person or sent over HTTP are checked with this before a path is built from them."""
    return bool(value) and "/" not in value and value not in (".", "..")


class DocumentStoreError(Exception):
    """Base of document-store errors."""


class AlreadyExists(DocumentStoreError):
    """create() of a document that exists."""


class NotFound(DocumentStoreError):
    """update()/delete() of a document that does not exist."""


class PreconditionFailed(DocumentStoreError):
    """The document changed since the version the caller read."""


class TransactionAborted(DocumentStoreError):
    """A transaction kept conflicting and gave up after its attempts."""


@dataclass(frozen=True)
class Document:
    path: str
    data: dict[str, Any]
    version: str
    create_time: datetime
    update_time: datetime

    @property
    def id(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class Transaction(Protocol):
    """Reads must come before writes (Firestore's rule); writes apply atomically at commit."""

    def get(self, path: str) -> Document | None: ...

    def get_all(self, paths: Sequence[str]) -> list[Document | None]:
        """Several documents in one read (one round trip on Firestore), in the order of `paths`,
        None where a document is absent."""

    def create(self, path: str, data: Mapping[str, Any]) -> None: ...
    def set(self, path: str, data: Mapping[str, Any]) -> None: ...
    def update(self, path: str, changes: Mapping[str, Any]) -> None: ...
    def delete(self, path: str) -> None: ...


class DocumentStore(Protocol):
    def get(self, path: str) -> Document | None: ...

    def get_all(self, paths: Sequence[str]) -> list[Document | None]:
        """Several documents in one read, in the order of `paths`, None where absent. Not a
        snapshot across documents outside a transaction (use Transaction.get_all for that)."""

    def create(self, path: str, data: Mapping[str, Any]) -> bool:
        """Create if absent. True if this call created it, False if it already existed."""

    def set(self, path: str, data: Mapping[str, Any]) -> Document:
        """Create or overwrite the whole document."""

    def set_many(self, documents: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Create or overwrite up to MAX_BATCH_WRITES documents (path, data) atomically in one
        write (a Firestore batched write): a bulk load without the reads of a transaction."""

    def update(self, path: str, changes: Mapping[str, Any], *, expected_version: str | None = None) -> Document:
        """Merge top-level fields. Raises NotFound, or PreconditionFailed if
        `expected_version` is given and the stored version differs."""

    def delete(self, path: str, *, expected_version: str | None = None) -> None: ...

    def run_transaction(self, fn: Callable[[Transaction], T], *, max_attempts: int = 5) -> T:
        """Run fn atomically (serializable); retried on contention, then TransactionAborted."""

    def query(self, collection: str, filters: Sequence[Filter] = (), *, order_by: str | None = None,
              descending: bool = False, limit: int | None = None) -> list[Document]:
        """Documents directly in `collection` (a collection path) matching all filters."""

    def count(self, collection: str, filters: Sequence[Filter] = ()) -> int: ...

    def now(self) -> datetime:
        """The store's own clock (UTC). Leases and staleness are measured on it, never on an
        instance's clock, so instances whose clocks disagree still agree on who holds what."""

    def close(self) -> None: ...
