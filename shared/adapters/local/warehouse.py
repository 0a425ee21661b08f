"""Embedded warehouse on DuckDB: BigQuery's model (datasets, DATE partitions, Standard SQL)
in one local file, no server.

Datasets are DuckDB schemas. Appends are idempotent per batch through a ledger table
(`_sportsflow.applied_batches`, primary key (table, batch)) written in the same transaction
as the rows: the claim is a plain INSERT, so the key's index answers whether the batch was
applied before (a duplicate key) — `ON CONFLICT DO NOTHING` plans a merge that scans the
whole ledger and costs 3-4× as much. Rows go in through one cached DuckDB appender per table
(one statement at its flush, inside the transaction): ~2× faster than an `UNNEST` of list
parameters for a player's 8 rows and ~4× for 50k rows. One connection guarded by a lock
serves all threads.

Rows are checked by the port's row contract (`shared.ports.warehouse_rows`).
"""
from __future__ import annotations

import json
import re
import threading
from datetime import date, timezone
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import duckdb

from shared.adapters.local.bigquery_sql import to_duckdb
from shared.ports.warehouse import FieldSpec, TableSpec, WarehouseError
from shared.ports.warehouse_rows import checked_identifier, conform_rows, rows_in_partition
from shared.runtime import crash_points

DUCKDB_TYPES = {
    "STRING": "VARCHAR",
    "INT64": "BIGINT",
    "FLOAT64": "DOUBLE",
    "BOOL": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMPTZ",
    "JSON": "JSON",
}
_LEDGER = "_sportsflow.applied_batches"
# One statement both checks and records the batch: a duplicate key means it was applied before.
_CLAIM_BATCH = f"INSERT INTO {_LEDGER} (table_name, batch_id, row_count) VALUES (?, ?, ?)"
_TIMESTAMP_TZ = "TIMESTAMP WITH TIME ZONE"


# ---- the DuckDB adapter ----------------------------------------------------------------------

class WarehouseInUse(WarehouseError):
    """The embedded warehouse admits one process at a time."""


class _AppliedBefore(Exception):
    """The batch's ledger row is already there (its transaction is rolled back)."""


class DuckDBWarehouse:
    """Warehouse port on one DuckDB database file (":memory:" for tests)."""

    def __init__(self, path: Path | str) -> None:
        try:
            self._connection = duckdb.connect(str(path))
        except duckdb.IOException as err:
            if "lock" not in str(err).lower():
                raise
            holder = re.search(r"PID (\d+)", str(err))
            raise WarehouseInUse(f"the warehouse {path} is in use by another process"
                                 f"{f' (PID {holder.group(1)})' if holder else ''}, e.g. `sportsflow serve` or a "
                                 "running `sportsflow run`: stop it, or use another --home") from None
        self._lock = threading.RLock()
        self._appenders: dict[TableSpec, duckdb.Appender] = {}
        self._connection.execute("SET TimeZone = 'UTC'")
        self._connection.execute("CREATE SCHEMA IF NOT EXISTS _sportsflow")
        self._connection.execute(
            f"CREATE TABLE IF NOT EXISTS {_LEDGER} (table_name VARCHAR, batch_id VARCHAR, "
            "row_count BIGINT, applied_at TIMESTAMPTZ DEFAULT current_timestamp, "
            "PRIMARY KEY (table_name, batch_id))")

    def ensure_dataset(self, dataset: str) -> None:
        with self._lock:
            self._connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{checked_identifier(dataset)}"')

    def ensure_table(self, spec: TableSpec) -> None:
        """Create the table (and its dataset) if absent; an existing table is left as it is."""
        columns = ", ".join(
            f'"{checked_identifier(f.name)}" {DUCKDB_TYPES[f.type]}'
            + (" NOT NULL" if f.mode == "REQUIRED" else "")
            for f in spec.fields)
        with self._lock:
            self.ensure_dataset(spec.dataset)
            self._connection.execute(f"CREATE TABLE IF NOT EXISTS {_table(spec)} ({columns})")

    def append_rows(self, spec: TableSpec, rows: Sequence[Mapping[str, Any]], *, batch_id: str) -> int:
        conformed = conform_rows(spec, rows)
        try:
            with self._lock, self._transaction():
                self._claim(spec, batch_id, len(conformed))
                crash_points.crash_point(crash_points.WAREHOUSE_BATCH_CLAIMED, target=batch_id)
                self._insert(spec, conformed)
        except _AppliedBefore:
            return 0  # applied before: the ledger row is the one written with its rows
        return len(conformed)

    def append_unique(self, spec: TableSpec, rows: Sequence[Mapping[str, Any]], *, key: Sequence[str]) -> int:
        """Append the rows whose `key` no row of the table has yet, in one statement (so at
        once): appending the same rows again appends nothing. Returns rows appended."""
        conformed = conform_rows(spec, rows)
        if not conformed:
            return 0
        names = ", ".join(f'"{f.name}"' for f in spec.fields)
        columns = ", ".join(f'UNNEST(CAST(? AS {DUCKDB_TYPES[f.type]}[])) AS "{f.name}"' for f in spec.fields)
        same_key = " AND ".join(f'held."{checked_identifier(k)}" = new."{checked_identifier(k)}"' for k in key)
        values = [[_to_duckdb_value(f, row[f.name]) for row in conformed] for f in spec.fields]
        with self._lock:
            try:
                appended = self._connection.execute(
                    f"INSERT INTO {_table(spec)} ({names}) SELECT {names} FROM (SELECT {columns}) AS new "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {_table(spec)} AS held WHERE {same_key})", values).fetchone()
            except duckdb.Error as err:
                raise WarehouseError(f"append failed: {err}") from err
        return int(appended[0]) if appended else 0

    def replace_partition(self, spec: TableSpec, partition: date, rows: Sequence[Mapping[str, Any]]) -> int:
        conformed = conform_rows(spec, rows)
        rows_in_partition(spec, partition, conformed)
        with self._lock, self._transaction():
            self._connection.execute(
                f'DELETE FROM {_table(spec)} WHERE "{spec.partition_field}" = ?', [partition])
            self._insert(spec, conformed)
        return len(conformed)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        translated = to_duckdb(sql)
        bound = _bind(translated.parameters, params or {})
        with self._lock:
            try:
                relation = self._connection.sql(translated.sql, params=bound or None)
                return [] if relation is None else _fetch_python(relation)
            except duckdb.Error as err:
                raise WarehouseError(f"query failed: {err}") from err

    def drop_dataset(self, dataset: str) -> None:
        """Delete a dataset and its tables (tests and local resets)."""
        with self._lock:
            for spec in [spec for spec in self._appenders if spec.dataset == dataset]:
                self._discard_appender(spec)
            self._connection.execute(f'DROP SCHEMA IF EXISTS "{checked_identifier(dataset)}" CASCADE')

    def close(self) -> None:
        with self._lock:
            for spec in list(self._appenders):
                self._discard_appender(spec)
            self._connection.close()

    def _claim(self, spec: TableSpec, batch_id: str, row_count: int) -> None:
        """Write the batch's ledger row; raise _AppliedBefore when its key is there already."""
        try:
            self._connection.execute(_CLAIM_BATCH, [spec.qualified_name, batch_id, row_count])
        except duckdb.ConstraintException as err:
            if "primary key" not in str(err).lower():
                raise
            raise _AppliedBefore(batch_id) from None

    def _insert(self, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
        """The rows in one statement of the open transaction (the appender's flush)."""
        if not rows:
            return
        appender = self._appenders.get(spec)
        if appender is None:
            appender = self._appenders[spec] = self._connection.appender(
                _table(spec), columns=[f.name for f in spec.fields])
        try:
            appender.append_rows(map(_row_values(spec), rows))
            appender.flush()
        except BaseException:
            self._discard_appender(spec)  # rows it buffered before the failure must never reach a later flush
            raise

    def _discard_appender(self, spec: TableSpec) -> None:
        appender = self._appenders.pop(spec, None)
        if appender is not None:
            appender.clear()

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._connection)


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK when the block raises; DuckDB errors become WarehouseError."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self._connection = connection

    def __enter__(self) -> None:
        self._connection.execute("BEGIN TRANSACTION")

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self._connection.execute("COMMIT")
            return False
        self._connection.execute("ROLLBACK")
        if isinstance(exc, duckdb.Error):
            raise WarehouseError(str(exc)) from exc
        return False


def _table(spec: TableSpec) -> str:
    return f'"{checked_identifier(spec.dataset)}"."{checked_identifier(spec.name)}"'


@lru_cache(maxsize=None)
def _row_values(spec: TableSpec) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A conformed row as the appender's tuple, in the order of the spec's fields."""
    if any(f.type == "JSON" for f in spec.fields):
        return lambda row: tuple(_to_duckdb_value(f, row[f.name]) for f in spec.fields)
    if len(spec.fields) == 1:
        name = spec.fields[0].name
        return lambda row: (row[name],)
    return itemgetter(*(f.name for f in spec.fields))


def _to_duckdb_value(field: FieldSpec, value: Any) -> Any:
    if field.type == "JSON" and value is not None:
        return json.dumps(value)
    return value


def _bind(names: Sequence[str], params: Mapping[str, Any]) -> dict[str, Any]:
    missing = [name for name in names if name not in params]
    if missing:
        raise WarehouseError(f"query parameter @{missing[0]} has no value")
    return {name: list(params[name]) if isinstance(params[name], tuple) else params[name]
            for name in names}


# ---- results as Python values -------------------------------------------------------------

def _fetch_python(relation: duckdb.DuckDBPyRelation) -> list[dict[str, Any]]:
    # DuckDB needs pytz to hand out TIMESTAMPTZ values; cast them to UTC wall time instead and
    # attach UTC here (the session TimeZone is UTC).
    types = [str(t) for t in relation.types]
    projection = ", ".join(
        f"CAST(#{i} AS {t.replace(_TIMESTAMP_TZ, 'TIMESTAMP')})" if _TIMESTAMP_TZ in t else f"#{i}"
        for i, t in enumerate(types, start=1))
    converters = [_converter(t) for t in types]
    names = relation.columns
    return [{name: convert(value) for name, convert, value in zip(names, converters, row)}
            for row in relation.project(projection).fetchall()]


def _converter(duckdb_type: str) -> Callable[[Any], Any]:
    if duckdb_type == _TIMESTAMP_TZ:
        return lambda v: v if v is None else v.replace(tzinfo=timezone.utc)
    if duckdb_type == "JSON":
        return lambda v: v if v is None else json.loads(v)
    if duckdb_type.startswith("DECIMAL"):
        # BigQuery's decimal literals (1.5) are FLOAT64; DuckDB makes them DECIMAL.
        return lambda v: v if v is None else float(v)
    return lambda v: v
