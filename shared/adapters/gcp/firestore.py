"""Document store on Firestore (native mode), through google-cloud-firestore.

Paths are Firestore paths. With a `namespace`, every path is stored under
`ns/{namespace}/`: the document "fanin/2025-01-15" lives at
"ns/{namespace}/fanin/2025-01-15". Documents returned carry the caller's path, without
the prefix. Tests and runs that share one emulator or database each take their own
namespace and never see each other's documents.

The version token is the document's update time in RFC 3339 with nanoseconds; a
precondition is Firestore's `last_update_time` precondition. Firestore answers a write
with its update time only, so `set` and `update` read the document back: normally that
is exactly the write; if another writer got in between, it is that writer's later
state (still a valid precondition token).

Query ordering follows Firestore: order_by skips documents lacking the field; a query
without order_by is ordered ascending by its first inequality field if it has one, else
by document id; `descending` needs order_by (Firestore cannot scan ids descending). Field
names in filters, order_by and update are top-level names, never dotted paths. In
production, equality on one field with order_by on another, or several inequalities, need
composite indexes (the emulator needs none).
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

from google.api_core import exceptions as google_errors
from google.cloud import firestore
from google.cloud.firestore_v1 import FieldFilter, ReadAfterWriteError
from google.cloud.firestore_v1.base_query import BaseQuery
from google.cloud.firestore_v1.document import DocumentReference
from google.cloud.firestore_v1.field_path import FieldPath
from proto.datetime_helpers import DatetimeWithNanoseconds

from shared.adapters.gcp.clients import firestore_client
from shared.ports.documents import (
    MAX_BATCH_WRITES,
    AlreadyExists,
    Document,
    DocumentStoreError,
    Filter,
    NotFound,
    PreconditionFailed,
    TransactionAborted,
)

T = TypeVar("T")
log = logging.getLogger("sportsflow.documents")

_NAMESPACE_COLLECTION = "ns"
_CLOCK_DOCUMENT = "_server_clock"
_CLOCK_RESYNC_S = 60.0


class ServerClock:
    """Firestore's clock, read from the commit time of a write to this instance's own clock
    document, then carried forward on the local monotonic clock and re-read every minute, so
    instances whose wall clocks disagree still measure leases on one clock."""

    def __init__(self, reference: DocumentReference):
        self._reference = reference
        self._lock = threading.Lock()
        self._synced: tuple[datetime, float] | None = None

    def now(self) -> datetime:
        with self._lock:
            if self._synced is None or time.monotonic() - self._synced[1] > _CLOCK_RESYNC_S:
                before = time.monotonic()
                result = self._reference.set({"at": firestore.SERVER_TIMESTAMP})
                self._synced = (result.update_time, (before + time.monotonic()) / 2)
            server, at = self._synced
            return server + timedelta(seconds=time.monotonic() - at)


def version_of(update_time: DatetimeWithNanoseconds) -> str:
    return update_time.rfc3339()


def _update_time_of(version: str) -> DatetimeWithNanoseconds:
    try:
        return DatetimeWithNanoseconds.from_rfc3339(version)
    except ValueError as error:
        raise PreconditionFailed(f"{version!r} is not a version of this store") from error


def _field(name: str) -> str:
    """A top-level field name as a Firestore field path (dots and other characters quoted)."""
    return FieldPath(name).to_api_repr()


class FirestoreTransaction:
    """The port's Transaction over a native one: reads before writes, writes at commit."""

    def __init__(self, store: "FirestoreDocumentStore", native: firestore.Transaction):
        self._store = store
        self._native = native

    def get(self, path: str) -> Document | None:
        try:
            snapshot = self._store._reference(path).get(transaction=self._native)
        except ReadAfterWriteError as error:
            raise DocumentStoreError("reads must come before writes in a transaction") from error
        return self._store._document(snapshot)

    def get_all(self, paths: Sequence[str]) -> list[Document | None]:
        try:
            return self._store._get_all(paths, transaction=self._native)
        except ReadAfterWriteError as error:
            raise DocumentStoreError("reads must come before writes in a transaction") from error

    def create(self, path: str, data: Mapping[str, Any]) -> None:
        self._native.create(self._store._reference(path), dict(data))

    def set(self, path: str, data: Mapping[str, Any]) -> None:
        self._native.set(self._store._reference(path), dict(data))

    def update(self, path: str, changes: Mapping[str, Any]) -> None:
        self._native.update(self._store._reference(path), {_field(k): v for k, v in changes.items()})

    def delete(self, path: str) -> None:
        reference = self._store._reference(path)
        self._native.delete(reference, option=self._store._client.write_option(exists=True))


class FirestoreDocumentStore:
    """DocumentStore on Firestore, or the emulator at `endpoint` (host:port; without one the
    client honours FIRESTORE_EMULATOR_HOST like every Google client).

    `client` may be passed to share one `firestore.Client`; otherwise one is made for
    `project` and `database`.
    """

    def __init__(self, project: str, *, database: str = "(default)", namespace: str = "",
                 client: firestore.Client | None = None, endpoint: str | None = None):
        if "/" in namespace:
            raise ValueError(f"namespace {namespace!r} must not contain '/'")
        self._client = client or firestore_client(project, database, endpoint)
        self._prefix = f"{_NAMESPACE_COLLECTION}/{namespace}/" if namespace else ""
        self._server_clock = ServerClock(self._client.document(f"{self._prefix}{_CLOCK_DOCUMENT}/{uuid.uuid4().hex}"))

    def now(self) -> datetime:
        return self._server_clock.now()

    # paths

    def _reference(self, path: str) -> DocumentReference:
        return self._client.document(self._prefix + path)

    def _collection(self, path: str) -> firestore.CollectionReference:
        return self._client.collection(self._prefix + path)

    def _document(self, snapshot: firestore.DocumentSnapshot) -> Document | None:
        if not snapshot.exists:
            return None
        return Document(path=snapshot.reference.path.removeprefix(self._prefix), data=snapshot.to_dict() or {},
                        version=version_of(snapshot.update_time), create_time=snapshot.create_time,
                        update_time=snapshot.update_time)

    # reads

    def get(self, path: str) -> Document | None:
        return self._document(self._reference(path).get())

    def get_all(self, paths: Sequence[str]) -> list[Document | None]:
        return self._get_all(paths)

    def _get_all(self, paths: Sequence[str], transaction: firestore.Transaction | None = None) -> list[Document | None]:
        """One BatchGetDocuments call per chunk; Firestore answers in any order and once per document."""
        found: dict[str, Document] = {}
        unique = list(dict.fromkeys(paths))
        for start in range(0, len(unique), MAX_BATCH_WRITES):
            references = [self._reference(path) for path in unique[start:start + MAX_BATCH_WRITES]]
            for snapshot in self._client.get_all(references, transaction=transaction):
                if (document := self._document(snapshot)) is not None:
                    found[document.path] = document
        return [found.get(path) for path in paths]

    def query(self, collection: str, filters: Sequence[Filter] = (), *, order_by: str | None = None,
              descending: bool = False, limit: int | None = None) -> list[Document]:
        if descending and order_by is None:
            raise ValueError("descending needs order_by")
        query = self._filtered(collection, filters)
        if order_by is not None:
            direction = firestore.Query.DESCENDING if descending else firestore.Query.ASCENDING
            query = query.order_by(_field(order_by), direction=direction)
        if limit is not None:
            query = query.limit(limit)
        return [document for snapshot in query.stream() if (document := self._document(snapshot))]

    def all_documents(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every document of this store (collections recursively, subcollections of missing
        parents too) as (path, data), for backups; instances' clock documents are not state."""
        root = self._client.document(self._prefix.rstrip("/")) if self._prefix else self._client
        for collection in root.collections():
            if collection.id == _CLOCK_DOCUMENT:
                continue
            for snapshot in collection.recursive().stream():
                if snapshot.exists:
                    yield snapshot.reference.path.removeprefix(self._prefix), snapshot.to_dict() or {}

    def count(self, collection: str, filters: Sequence[Filter] = ()) -> int:
        (results,) = self._filtered(collection, filters).count().get()
        return int(results[0].value)

    def _filtered(self, collection: str, filters: Sequence[Filter]) -> BaseQuery:
        query = self._collection(collection)
        for field, op, value in filters:
            query = query.where(filter=FieldFilter(_field(field), op, value))
        return query

    # writes

    def create(self, path: str, data: Mapping[str, Any]) -> bool:
        try:
            self._reference(path).create(dict(data))
        except google_errors.AlreadyExists:
            return False
        return True

    def set(self, path: str, data: Mapping[str, Any]) -> Document:
        reference = self._reference(path)
        reference.set(dict(data))
        return self._read_back(reference)

    def set_many(self, documents: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        if len(documents) > MAX_BATCH_WRITES:
            raise ValueError(f"set_many takes at most {MAX_BATCH_WRITES} documents, not {len(documents)}")
        if not documents:
            return
        batch = self._client.batch()
        for path, data in documents:
            batch.set(self._reference(path), dict(data))
        batch.commit()

    def update(self, path: str, changes: Mapping[str, Any], *, expected_version: str | None = None) -> Document:
        reference = self._reference(path)
        fields = {_field(name): value for name, value in changes.items()}
        with _precondition_errors(reference, path):
            reference.update(fields, option=self._write_option(expected_version))
        return self._read_back(reference)

    def delete(self, path: str, *, expected_version: str | None = None) -> None:
        reference = self._reference(path)
        with _precondition_errors(reference, path):
            reference.delete(option=self._write_option(expected_version) or self._client.write_option(exists=True))

    def run_transaction(self, fn: Callable[[FirestoreTransaction], T], *, max_attempts: int = 5) -> T:
        @firestore.transactional
        def attempt(native: firestore.Transaction) -> T:
            return fn(FirestoreTransaction(self, native))

        try:
            return attempt(self._client.transaction(max_attempts=max_attempts))
        except ValueError as error:
            if isinstance(error.__cause__, google_errors.Aborted):
                raise _aborted(error, max_attempts) from error
            raise
        except google_errors.Aborted as error:  # contention reported on a read, not at commit
            raise _aborted(error, max_attempts) from error
        except google_errors.AlreadyExists as error:
            raise AlreadyExists(str(error)) from error
        except google_errors.NotFound as error:
            raise NotFound(str(error)) from error

    def close(self) -> None:
        self._client.close()

    # machinery

    def _write_option(self, expected_version: str | None):
        if expected_version is None:
            return None
        return self._client.write_option(last_update_time=_update_time_of(expected_version))

    def _read_back(self, reference: DocumentReference) -> Document:
        document = self._document(reference.get())
        if document is None:
            raise NotFound(f"{reference.path} was deleted right after this write")
        return document


def _aborted(error: Exception, max_attempts: int) -> TransactionAborted:
    log.warning("transaction aborted", extra={"fields": {"max_attempts": max_attempts, "error": str(error)}})
    return TransactionAborted(str(error))


@contextmanager
def _precondition_errors(reference: DocumentReference, path: str) -> Iterator[None]:
    """Firestore's precondition errors as the port's: NotFound when the document is gone."""
    try:
        yield
    except google_errors.NotFound as error:
        raise NotFound(path) from error
    except google_errors.FailedPrecondition as error:
        if not reference.get().exists:
            raise NotFound(path) from error
        raise PreconditionFailed(f"{path}: {error.message}") from error
