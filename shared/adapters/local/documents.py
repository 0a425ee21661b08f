"""Document store on SQLite: Firestore's semantics in one embedded file.

One table holds every document as JSON, keyed by its full path, with its parent
collection path in its own column, so a query reads documents *directly* in a
collection and never those of subcollections.

Writes run in `BEGIN IMMEDIATE` transactions: the writer lock is taken before the
first read, which makes every transaction serializable. A busy database (another
thread or process holds the lock longer than `busy_timeout`) is retried with a short
backoff, then reported as TransactionAborted. The file uses WAL so readers never block
the writer; many threads (one connection each) and processes can share it. ":memory:"
is one connection shared under a lock.

Versions come from one counter in the file, bumped once per committed write
transaction, so a token never repeats, not even after a delete and re-create.

Datetimes are stored as {"$dt": "YYYY-MM-DDTHH:MM:SS.ffffffZ"}: always UTC, fixed
width, so the string order is the time order and queries compare them as text. They
come back timezone-aware (UTC). Naive datetimes are taken as UTC, as the Firestore
client does. The key "$dt" is therefore reserved in maps.

Filters and ordering follow Firestore's typing: a filter matches only values of the
operand's type (`== 1` does not match `true`, `> 1` does not match a string), `!=`
and order_by skip documents where the field is missing (`!=` also skips null), values
of different types order null < bool < number < timestamp < string < array < map, and
a query without order_by is ordered ascending by its first inequality field if it has
one, else by document id; `descending` needs order_by (Firestore cannot scan document
ids in descending order).
"""
from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

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

_DATETIME_KEY = "$dt"
_INEQUALITIES = frozenset({"!=", "<", "<=", ">", ">="})
_RANGES = frozenset({"<", "<=", ">", ">="})
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_BACKOFF_BASE_SECONDS = 0.01
_BACKOFF_CAP_SECONDS = 0.2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    path TEXT PRIMARY KEY,
    collection TEXT NOT NULL,
    data TEXT NOT NULL,
    version INTEGER NOT NULL,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_collection ON documents (collection, path);
{field_indexes}
CREATE TABLE IF NOT EXISTS version_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO version_counter (id, value) VALUES (1, 0);
"""


# --- paths -----------------------------------------------------------------------

def _segment_count(path: str) -> int:
    if not path or path[0] == "/" or path[-1] == "/" or "//" in path:
        raise ValueError(f"invalid path {path!r}: empty segment")
    return path.count("/") + 1


def collection_of(document_path: str) -> str:
    """The collection a document path sits in; ValueError unless the path names a document."""
    if _segment_count(document_path) % 2:
        raise ValueError(f"{document_path!r} is a collection path, not a document path")
    return document_path.rsplit("/", 1)[0]


def _check_collection_path(path: str) -> None:
    if _segment_count(path) % 2 == 0:
        raise ValueError(f"{path!r} is a document path, not a collection path")


# --- values ----------------------------------------------------------------------

def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _timestamp_text(moment: datetime) -> str:
    return _utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _parse_timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text)  # stored text ends in "Z": already UTC
    return moment if moment.tzinfo is timezone.utc else moment.astimezone(timezone.utc)


_PLAIN_TYPES = (str, int, float, bool, type(None))


def _encode(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN_TYPES:  # the common cases first: Mapping's isinstance check is slow
        return value
    if kind is dict and _DATETIME_KEY not in value and all(type(key) is str for key in value):
        return {key: _encode(item) for key, item in value.items()}
    if kind is list:
        return [_encode(item) for item in value]
    if isinstance(value, datetime):
        return {_DATETIME_KEY: _timestamp_text(value)}
    if isinstance(value, Mapping):
        if _DATETIME_KEY in value:
            raise ValueError(f"the map key {_DATETIME_KEY!r} is reserved by the SQLite document store")
        if not all(isinstance(key, str) for key in value):
            raise TypeError("document map keys must be strings")
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot store a value of type {type(value).__name__} in a document")


def _decode_map(value: dict) -> Any:
    """json.loads' object hook: a stored datetime back as a datetime, every other map as is."""
    if len(value) == 1 and _DATETIME_KEY in value:
        return _parse_timestamp(value[_DATETIME_KEY])
    return value


_PLAIN_DECODER = json.JSONDecoder()
_DATETIME_DECODER = json.JSONDecoder(object_hook=_decode_map)
_DATETIME_MARK = f'"{_DATETIME_KEY}"'


def _from_json(text: str) -> dict[str, Any]:
    """Decoders made once (json.loads with options builds one per call); the hook only when needed."""
    decoder = _DATETIME_DECODER if _DATETIME_MARK in text else _PLAIN_DECODER
    return decoder.decode(text)


def _to_json(data: Mapping[str, Any]) -> str:
    return json.dumps(_encode(data), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# Fields the console and the pipeline's status filter on in large collections (run history and data
# versions by date, decisions by team / outcome / key): an expression index each, partial (documents
# without the field carry no entry, so other collections' writes pay nothing for it), ending in the
# path so that an equality filter's results come out in the default (path) order without a sort.
INDEXED_FIELDS = ("analysis_date", "date", "team", "outcome", "decision_key")


def _field_indexes_sql() -> str:
    statements = []
    for name in INDEXED_FIELDS:
        path = _literal(_field_path(name))
        statements.append(f"CREATE INDEX IF NOT EXISTS documents_by_{name}_path ON documents "
                          f"(collection, json_extract(data, {path}), path) WHERE json_type(data, {path}) IS NOT NULL;")
    return "\n".join(statements)


# --- filters and ordering ----------------------------------------------------------

def _field_path(field: str) -> str:
    if not field:
        raise ValueError("empty field name")
    return '$."' + field.replace('"', '\\"') + '"'


def _literal(path: str) -> str:
    """A JSON path as an SQL string literal. Filters name their field literally (not as a bound
    parameter) so that SQLite can use the expression indexes of INDEXED_FIELDS for them."""
    return "'" + path.replace("'", "''") + "'"


def _matches_equal(path: str, value: Any) -> tuple[str, list[Any]]:
    """SQL that is true when the field equals `value`, with Firestore's type rules."""
    kind = f"json_type(data, {_literal(path)})"
    field = f"json_extract(data, {_literal(path)})"
    if value is None:
        return f"{kind} = 'null'", []
    if isinstance(value, bool):
        return f"{kind} = ?", ["true" if value else "false"]
    if isinstance(value, (int, float)):
        return f"({kind} IN ('integer', 'real') AND {field} = ?)", [value]
    if isinstance(value, str):
        return f"({kind} = 'text' AND {field} = ?)", [value]
    if isinstance(value, (datetime, Mapping, list, tuple)):
        shape = "array" if isinstance(value, (list, tuple)) else "object"
        encoded = json.dumps(_encode(value), ensure_ascii=False)
        return f"({kind} = '{shape}' AND {field} = json(?))", [encoded]
    raise TypeError(f"cannot filter on a value of type {type(value).__name__}")


def _matches_range(path: str, op: str, value: Any) -> tuple[str, list[Any]]:
    kind = f"json_type(data, {_literal(path)})"
    field = f"json_extract(data, {_literal(path)})"
    if isinstance(value, datetime):
        stamp_path = _literal(path + '."' + _DATETIME_KEY + '"')
        return (f"(json_type(data, {stamp_path}) = 'text' AND json_extract(data, {stamp_path}) {op} ?)",
                [_timestamp_text(value)])
    if isinstance(value, bool):
        return f"({kind} IN ('true', 'false') AND {field} {op} ?)", [int(value)]
    if isinstance(value, (int, float)):
        return f"({kind} IN ('integer', 'real') AND {field} {op} ?)", [value]
    if isinstance(value, str):
        return f"({kind} = 'text' AND {field} {op} ?)", [value]
    raise ValueError(f"{op!r} needs a number, string, bool or datetime operand, not {type(value).__name__}")


def _filter_sql(field: str, op: str, value: Any) -> tuple[str, list[Any]]:
    path = _field_path(field)
    if op == "==":
        return _matches_equal(path, value)
    if op == "!=":
        equal, params = _matches_equal(path, value)
        return f"(json_type(data, {_literal(path)}) <> 'null' AND NOT {equal})", params
    if op == "in":
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)) or not value:
            raise ValueError(f"'in' needs a non-empty list of values for field {field!r}")
        parts = [_matches_equal(path, item) for item in value]
        return "(" + " OR ".join(sql for sql, _ in parts) + ")", [p for _, params in parts for p in params]
    if op in _RANGES:
        return _matches_range(path, op, value)
    raise ValueError(f"unsupported filter operator {op!r}")


def _where_sql(collection: str, filters: Sequence[Filter]) -> tuple[str, list[Any]]:
    _check_collection_path(collection)
    clauses, params = ["collection = ?"], [collection]
    for field, op, value in filters:
        sql, filter_params = _filter_sql(field, op, value)
        clauses.append(sql)
        params.extend(filter_params)
    return " AND ".join(clauses), params


def _type_rank_sql() -> str:
    """Firestore's cross-type order: null < bool < number < timestamp < string < array < map."""
    return ("CASE json_type(data, ?) WHEN 'null' THEN 0 WHEN 'false' THEN 1 WHEN 'true' THEN 1 "
            "WHEN 'integer' THEN 2 WHEN 'real' THEN 2 WHEN 'text' THEN 4 WHEN 'array' THEN 5 "
            "ELSE CASE WHEN json_type(data, ?) = 'text' THEN 3 ELSE 6 END END")


def _order_sql(order_field: str | None, descending: bool, filters: Sequence[Filter] = ()
               ) -> tuple[str, list[Any], str, list[Any]]:
    """(WHERE guard, its params, ORDER BY, its params): ordering by a field skips documents lacking it."""
    direction = "DESC" if descending else "ASC"
    if order_field is None:
        return "", [], f"path {direction}", []
    path = _field_path(order_field)
    if _one_type(order_field, filters):  # every match ranks alike: order as the field's index does
        return "", [], f"json_extract(data, {_literal(path)}) {direction}, path {direction}", []
    stamp_path = path + '."' + _DATETIME_KEY + '"'
    order = f"{_type_rank_sql()} {direction}, json_extract(data, ?) {direction}, path {direction}"
    return " AND json_type(data, ?) IS NOT NULL", [path], order, [path, stamp_path, path]


def _one_type(field: str, filters: Sequence[Filter]) -> bool:
    """Whether a filter on `field` admits only text or only numbers (so Firestore's cross-type rank is
    the same for every match, and the order is the field's value alone)."""
    return any(name == field and (op in _RANGES or op == "==") and isinstance(value, (str, int, float))
               and not isinstance(value, bool) for name, op, value in filters)


def _implicit_order_field(filters: Sequence[Filter]) -> str | None:
    return next((field for field, op, _ in filters if op in _INEQUALITIES), None)


# --- rows ------------------------------------------------------------------------

def _document(row: sqlite3.Row | tuple) -> Document:
    path, data, version, create_time, update_time = row
    return Document(path=path, data=_from_json(data), version=str(version),
                    create_time=_parse_timestamp(create_time), update_time=_parse_timestamp(update_time))


def _read(conn: sqlite3.Connection, path: str) -> Document | None:
    row = conn.execute("SELECT path, data, version, create_time, update_time FROM documents WHERE path = ?",
                       (path,)).fetchone()
    return _document(row) if row else None


_READ_CHUNK = 500  # paths per SELECT, well under SQLite's bound-parameter limit


def _read_all(conn: sqlite3.Connection, paths: Sequence[str]) -> list[Document | None]:
    """The documents at `paths`, in that order (None where absent), in one SELECT per chunk."""
    for path in paths:
        collection_of(path)
    found: dict[str, Document] = {}
    unique = list(dict.fromkeys(paths))
    for start in range(0, len(unique), _READ_CHUNK):
        chunk = unique[start:start + _READ_CHUNK]
        rows = conn.execute("SELECT path, data, version, create_time, update_time FROM documents "
                            f"WHERE path IN ({','.join('?' * len(chunk))})", chunk)
        found.update((document.path, document) for document in map(_document, rows))
    return [found.get(path) for path in paths]


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return (getattr(error, "sqlite_errorcode", 0) & 0xFF) in _BUSY_CODES


class _Commit:
    """Applies the writes of one write transaction; all of them share one version and time."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self._stamp: tuple[int, str] | None = None

    def _version_and_time(self) -> tuple[int, str]:
        if self._stamp is None:
            (version,) = self._conn.execute(
                "UPDATE version_counter SET value = value + 1 WHERE id = 1 RETURNING value").fetchone()
            self._stamp = (version, _timestamp_text(datetime.now(timezone.utc)))
        return self._stamp

    def create(self, path: str, data: Mapping[str, Any]) -> bool:
        """Insert unless the document exists; True if inserted."""
        if _read(self._conn, path) is not None:
            return False
        self.put(path, data)
        return True

    def put(self, path: str, data: Mapping[str, Any]) -> None:
        self.put_texts([(path, _to_json(data))])

    def put_texts(self, rows: Sequence[tuple[str, str]]) -> None:
        """Create or overwrite documents already encoded as JSON text (one statement for all)."""
        version, now = self._version_and_time()
        self._conn.executemany(
            "INSERT INTO documents (path, collection, data, version, create_time, update_time) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET "
            "data = excluded.data, version = excluded.version, update_time = excluded.update_time",
            [(path, collection_of(path), text, version, now, now) for path, text in rows])

    def create_text(self, path: str, text: str) -> bool:
        if _read(self._conn, path) is not None:
            return False
        self.put_texts([(path, text)])
        return True

    def merge(self, path: str, changes: Mapping[str, Any], expected_version: str | None = None) -> None:
        current = self._require(path, expected_version)
        self.put(path, {**current.data, **changes})

    def remove(self, path: str, expected_version: str | None = None) -> None:
        self._require(path, expected_version)
        self._conn.execute("DELETE FROM documents WHERE path = ?", (path,))

    def _require(self, path: str, expected_version: str | None) -> Document:
        current = _read(self._conn, path)
        if current is None:
            raise NotFound(path)
        if expected_version is not None and current.version != expected_version:
            raise PreconditionFailed(f"{path}: version {current.version}, expected {expected_version}")
        return current


class SqliteTransaction:
    """Reads see the database under the writer lock; writes are kept until commit, as in Firestore."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self._writes: list[Callable[[_Commit], None]] = []

    def get(self, path: str) -> Document | None:
        return self.get_all([path])[0]

    def get_all(self, paths: Sequence[str]) -> list[Document | None]:
        if self._writes:
            raise DocumentStoreError("reads must come before writes in a transaction")
        return _read_all(self._conn, paths)

    def create(self, path: str, data: Mapping[str, Any]) -> None:
        text = _frozen_text(path, data)
        self._writes.append(lambda commit: _create_or_fail(commit, path, text))

    def set(self, path: str, data: Mapping[str, Any]) -> None:
        text = _frozen_text(path, data)
        self._writes.append(lambda commit: commit.put_texts([(path, text)]))

    def update(self, path: str, changes: Mapping[str, Any]) -> None:
        changes = _from_json(_frozen_text(path, changes))
        self._writes.append(lambda commit: commit.merge(path, changes))

    def delete(self, path: str) -> None:
        collection_of(path)
        self._writes.append(lambda commit: commit.remove(path))

    def commit(self) -> None:
        commit = _Commit(self._conn)
        for write in self._writes:
            write(commit)


def _frozen_text(path: str, data: Mapping[str, Any]) -> str:
    """The write encoded when it is made: later changes by the caller do not leak in."""
    collection_of(path)
    return _to_json(data)


def _create_or_fail(commit: _Commit, path: str, text: str) -> None:
    if not commit.create_text(path, text):
        raise AlreadyExists(path)


class _Connections:
    """One connection per thread on a file; one shared, locked connection for ":memory:"."""

    def __init__(self, database: str, busy_timeout: float):
        self._database = database
        self._busy_timeout_ms = int(busy_timeout * 1000)
        self._in_memory = database == ":memory:"
        self._local = threading.local()
        self._shared_lock = threading.RLock()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[sqlite3.Connection]:
        if self._in_memory:
            with self._shared_lock:
                yield self._connection()
        else:
            yield self._connection()

    def _connection(self) -> sqlite3.Connection:
        if self._in_memory and self._opened:
            return self._opened[0]
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._database, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        if not self._in_memory:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL keeps commits atomic; fsync at checkpoints
        with self._opened_lock:
            self._opened.append(conn)
        return conn

    def close(self) -> None:
        with self._opened_lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
        self._local = threading.local()


class SqliteDocumentStore:
    """DocumentStore on one SQLite file (or ":memory:"). See the module docstring for semantics.

    `busy_timeout` is how long one attempt waits for another writer before it is retried.
    `clock` is the store's clock (`now()`): the wall clock, or the embedded bus's virtual
    clock so leases expire in the same time the bus redelivers in.
    """

    def __init__(self, path: Path | str = ":memory:", *, busy_timeout: float = 5.0,
                 clock: Callable[[], datetime] | None = None):
        self._connections = _Connections(str(path), busy_timeout)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._in_write_transaction(_create_schema)

    def now(self) -> datetime:
        return self._clock()

    # reads

    def get(self, path: str) -> Document | None:
        collection_of(path)
        with self._connections.session() as conn:
            return _read(conn, path)

    def get_all(self, paths: Sequence[str]) -> list[Document | None]:
        with self._connections.session() as conn:
            return _read_all(conn, paths)

    def query(self, collection: str, filters: Sequence[Filter] = (), *, order_by: str | None = None,
              descending: bool = False, limit: int | None = None) -> list[Document]:
        if descending and order_by is None:
            raise ValueError("descending needs order_by")
        where, params = _where_sql(collection, filters)
        guard, guard_params, order, order_params = _order_sql(order_by or _implicit_order_field(filters), descending,
                                                              filters)
        sql = (f"SELECT path, data, version, create_time, update_time FROM documents "
               f"WHERE {where}{guard} ORDER BY {order}")
        params = [*params, *guard_params, *order_params]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._connections.session() as conn:
            return [_document(row) for row in conn.execute(sql, params)]

    def count(self, collection: str, filters: Sequence[Filter] = ()) -> int:
        where, params = _where_sql(collection, filters)
        with self._connections.session() as conn:
            (total,) = conn.execute(f"SELECT COUNT(*) FROM documents WHERE {where}", params).fetchone()
        return total

    # writes

    def create(self, path: str, data: Mapping[str, Any]) -> bool:
        collection_of(path)
        return self._in_write_transaction(lambda conn: _Commit(conn).create(path, data))

    def set(self, path: str, data: Mapping[str, Any]) -> Document:
        collection_of(path)
        return self._write_and_read(path, lambda commit: commit.put(path, data))

    def set_many(self, documents: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        if len(documents) > MAX_BATCH_WRITES:
            raise ValueError(f"set_many takes at most {MAX_BATCH_WRITES} documents, not {len(documents)}")
        texts = [(path, _frozen_text(path, data)) for path, data in documents]
        self._in_write_transaction(lambda conn: _Commit(conn).put_texts(texts) if texts else None)

    def update(self, path: str, changes: Mapping[str, Any], *, expected_version: str | None = None) -> Document:
        collection_of(path)
        return self._write_and_read(path, lambda commit: commit.merge(path, changes, expected_version))

    def delete(self, path: str, *, expected_version: str | None = None) -> None:
        collection_of(path)
        self._in_write_transaction(lambda conn: _Commit(conn).remove(path, expected_version))

    def run_transaction(self, fn: Callable[[SqliteTransaction], T], *, max_attempts: int = 5) -> T:
        def attempt(conn: sqlite3.Connection) -> T:
            transaction = SqliteTransaction(conn)
            result = fn(transaction)
            transaction.commit()
            return result
        return self._in_write_transaction(attempt, max_attempts=max_attempts)

    def close(self) -> None:
        self._connections.close()

    # machinery

    def _write_and_read(self, path: str, write: Callable[[_Commit], None]) -> Document:
        def write_then_read(conn: sqlite3.Connection) -> Document:
            write(_Commit(conn))
            document = _read(conn, path)
            assert document is not None
            return document
        return self._in_write_transaction(write_then_read)

    def _in_write_transaction(self, work: Callable[[sqlite3.Connection], T], *, max_attempts: int = 5) -> T:
        """Run `work` under BEGIN IMMEDIATE and commit; retry while the database is busy."""
        for attempt in range(1, max_attempts + 1):
            with self._connections.session() as conn:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    result = work(conn)
                    conn.execute("COMMIT")
                    return result
                except sqlite3.OperationalError as error:
                    _roll_back(conn)
                    if not _is_busy(error):
                        raise
                except BaseException:
                    _roll_back(conn)
                    raise
            log.info("document store busy, retrying",
                     extra={"fields": {"attempt": attempt, "max_attempts": max_attempts}})
            _back_off(attempt)
        raise TransactionAborted(f"database stayed busy for {max_attempts} attempts")


def _create_schema(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA.format(field_indexes=_field_indexes_sql()).split(";"):
        if statement.strip():
            conn.execute(statement)


def _roll_back(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _back_off(attempt: int) -> None:
    ceiling = min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    time.sleep(random.uniform(ceiling / 2, ceiling))
