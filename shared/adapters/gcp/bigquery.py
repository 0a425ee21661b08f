"""Warehouse port on BigQuery (google-cloud-bigquery), in production or on `bqemulator`.

Rows travel as NDJSON load jobs (no streaming inserts: streamed rows cannot be touched by
DML for ~30 min and insertId de-duplication is only best effort).

Idempotent append differs by target, chosen by the `emulator` flag:
- BigQuery: the load job's id is derived from (table, batch_id). Job ids are unique per
  project, so a repeated batch gets 409 Conflict; the earlier job is then inspected: if it
  succeeded the batch is already applied (0 rows), if it failed the load reruns under the
  next suffixed id (`…_r1`, `…_r2`).
- bqemulator: it ignores the job id of a load (assigns its own) and accepts a repeated
  query job id, so a Conflict never comes. There the rows are loaded into a staging table
  and moved by one multi-statement transaction that also records the batch in the
  dataset's `_sportsflow_batches` ledger, guarded by NOT EXISTS on that ledger. Each append
  costs four calls there (bqemulator serves them one by one: they bound a date's Phase 5): the
  staging load's two and the script's two — after its commit the script drops the staging table
  and reads whose attempt the ledger holds. The ledger table is ensured once per dataset and
  process, the staging table is created by its load, and a repeated batch is recognised by the
  guarded transaction itself rather than by a read before it.

Partition replace: BigQuery loads with WRITE_TRUNCATE into `table$YYYYMMDD` (atomic per
partition). bqemulator rejects partition decorators, so there a transaction deletes the
partition and inserts the staged rows.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterator, Mapping, Sequence

from google.api_core import exceptions as google_errors
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY, DEFAULT_RETRY

from shared.adapters.gcp.clients import bigquery_emulator_client
from shared.ports.warehouse import TableSpec, WarehouseError
from shared.ports.warehouse_rows import checked_identifier, conform_rows, rows_in_partition

EMULATOR_HOST_VARIABLE = "BIGQUERY_EMULATOR_HOST"
BATCH_LEDGER_TABLE = "_sportsflow_batches"
MAX_LOAD_ATTEMPTS = 5
_NDJSON = bigquery.SourceFormat.NEWLINE_DELIMITED_JSON


def emulator_client(project: str, endpoint: str) -> bigquery.Client:
    """A client for bqemulator at `endpoint` ("http://127.0.0.1:P")."""
    return bigquery_emulator_client(project, endpoint)


class BigQueryWarehouse:
    """Warehouse port on BigQuery. Pass `client` to reuse one; `emulator=True` selects the
    bqemulator paths for idempotent appends and partition replaces (see module docstring);
    `endpoint` ("http://host:port") is bqemulator's address and implies `emulator=True` (without
    it, `emulator=True` reads BIGQUERY_EMULATOR_HOST)."""

    def __init__(self, project: str, *, location: str = "US", emulator: bool = False,
                 client: bigquery.Client | None = None, endpoint: str | None = None) -> None:
        emulator = emulator or endpoint is not None
        if client is None:
            endpoint = endpoint or (os.environ.get(EMULATOR_HOST_VARIABLE) if emulator else None)
            client = (emulator_client(project, endpoint) if endpoint
                      else bigquery.Client(project, location=location))
        self._client = client
        self._project = project
        self._location = location
        self._emulator = emulator
        self._ledgers: set[str] = set()  # batch ledgers known to exist (created once per process)
        self._datasets: set[str] = set()  # datasets known to exist (every ensure_table ensures its own)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, project: str | None = None,
                 location: str = "US") -> "BigQueryWarehouse":
        """The emulator when BIGQUERY_EMULATOR_HOST is set, else BigQuery with default credentials.
        The project comes from `project` or GOOGLE_CLOUD_PROJECT."""
        env = os.environ if env is None else env
        project = project or env.get("GOOGLE_CLOUD_PROJECT")
        if not project:
            raise WarehouseError("no project: pass project= or set GOOGLE_CLOUD_PROJECT")
        endpoint = env.get(EMULATOR_HOST_VARIABLE)
        if endpoint:
            return cls(project, location=location, emulator=True,
                       client=emulator_client(project, endpoint))
        return cls(project, location=location)

    # ---- schema ---------------------------------------------------------------------------

    def ensure_dataset(self, dataset: str) -> None:
        if dataset in self._datasets:
            return
        reference = bigquery.Dataset(f"{self._project}.{checked_identifier(dataset)}")
        reference.location = self._location
        with _as_warehouse_error("create dataset"):
            self._client.create_dataset(reference, exists_ok=True)
        self._datasets.add(dataset)

    def ensure_table(self, spec: TableSpec) -> None:
        """Create the table (and its dataset) if absent; an existing table is left as it is."""
        self.ensure_dataset(spec.dataset)
        table = bigquery.Table(self._table_id(spec), schema=_schema(spec))
        table.description = spec.description or None
        if spec.partition_field:
            table.time_partitioning = bigquery.TimePartitioning(
                type_=bigquery.TimePartitioningType.DAY, field=spec.partition_field)
        if spec.clustering:
            table.clustering_fields = list(spec.clustering)
        with _as_warehouse_error("create table"):
            self._client.create_table(table, exists_ok=True)

    def drop_dataset(self, dataset: str) -> None:
        """Delete a dataset and its tables (tests and resets)."""
        with _as_warehouse_error("delete dataset"):
            self._client.delete_dataset(f"{self._project}.{checked_identifier(dataset)}",
                                        delete_contents=True, not_found_ok=True)
        self._ledgers.discard(f"{self._project}.{dataset}.{BATCH_LEDGER_TABLE}")
        self._datasets.discard(dataset)

    # ---- writes ---------------------------------------------------------------------------

    def append_rows(self, spec: TableSpec, rows: Sequence[Mapping[str, Any]], *, batch_id: str) -> int:
        payload = _ndjson(conform_rows(spec, rows))
        if self._emulator:
            return self._append_through_ledger(spec, payload, len(rows), batch_id)
        return self._append_by_job_id(spec, payload, batch_id)

    def replace_partition(self, spec: TableSpec, partition: date, rows: Sequence[Mapping[str, Any]]) -> int:
        conformed = conform_rows(spec, rows)
        rows_in_partition(spec, partition, conformed)
        if self._emulator:
            self._replace_through_transaction(spec, partition, _ndjson(conformed))
        elif conformed:
            decorated = f"{self._table_id(spec)}${partition:%Y%m%d}"
            self._load(decorated, spec, _ndjson(conformed), bigquery.WriteDisposition.WRITE_TRUNCATE)
        else:
            with _as_warehouse_error("delete partition"):
                self._client.delete_table(f"{self._table_id(spec)}${partition:%Y%m%d}", not_found_ok=True)
        return len(conformed)

    def _append_by_job_id(self, spec: TableSpec, payload: bytes, batch_id: str) -> int:
        base_id = append_job_id(spec, batch_id)
        for attempt in range(MAX_LOAD_ATTEMPTS):
            job_id = base_id if attempt == 0 else f"{base_id}_r{attempt}"
            try:
                job = self._client.load_table_from_file(
                    io.BytesIO(payload), self._table_id(spec), job_id=job_id, location=self._location,
                    job_config=_load_config(spec, bigquery.WriteDisposition.WRITE_APPEND))
            except google_errors.Conflict:
                if self._earlier_job_succeeded(job_id):
                    return 0
                continue
            with _as_warehouse_error(f"append to {spec.qualified_name}"):
                job.result()
            return job.output_rows or 0
        raise WarehouseError(f"batch {batch_id!r} into {spec.qualified_name} failed "
                             f"{MAX_LOAD_ATTEMPTS} times; see jobs {base_id}*")

    def _earlier_job_succeeded(self, job_id: str) -> bool:
        earlier = self._client.get_job(job_id, location=self._location)
        try:
            earlier.result()  # waits if the earlier delivery's load is still running
        except google_errors.GoogleAPICallError:
            return False
        return earlier.error_result is None

    def _append_through_ledger(self, spec: TableSpec, payload: bytes, row_count: int, batch_id: str) -> int:
        # No read of the ledger first: the NOT EXISTS guards make a repeated batch insert nothing,
        # and the script's last statement, after the commit, reads whose attempt applied it.
        ledger = self._ensure_batch_ledger(spec.dataset)
        batch_key = _digest(f"{spec.qualified_name}\n{batch_id}")
        attempt = uuid.uuid4().hex
        with self._staged(spec, payload) as staging:
            columns = ", ".join(f"`{f.name}`" for f in spec.fields)
            not_recorded = f"NOT EXISTS (SELECT 1 FROM `{ledger}` WHERE batch_key = '{batch_key}')"
            applied = self._run_script(
                f"INSERT INTO `{self._table_id(spec)}` ({columns}) "
                f"SELECT {columns} FROM `{staging}` WHERE {not_recorded};",
                f"INSERT INTO `{ledger}` (batch_key, table_name, attempt, row_count, applied_at) "
                f"SELECT '{batch_key}', '{spec.name}', '{attempt}', {row_count}, CURRENT_TIMESTAMP() "
                f"FROM (SELECT 1) WHERE {not_recorded};",
                after_commit=(f"DROP TABLE IF EXISTS `{staging}`;",
                              f"SELECT attempt FROM `{ledger}` WHERE batch_key = '{batch_key}';"))
        return row_count if applied and applied[0]["attempt"] == attempt else 0

    def _replace_through_transaction(self, spec: TableSpec, partition: date, payload: bytes) -> None:
        # Scripts receive no query parameters on the emulator; the date literal is our own.
        with self._staged(spec, payload) as staging:
            columns = ", ".join(f"`{f.name}`" for f in spec.fields)
            self._run_script(
                f"DELETE FROM `{self._table_id(spec)}` "
                f"WHERE `{spec.partition_field}` = DATE '{partition.isoformat()}';",
                f"INSERT INTO `{self._table_id(spec)}` ({columns}) SELECT {columns} FROM `{staging}`;",
                after_commit=(f"DROP TABLE IF EXISTS `{staging}`;",))

    def _ensure_batch_ledger(self, dataset: str) -> str:
        ledger = f"{self._project}.{dataset}.{BATCH_LEDGER_TABLE}"
        if ledger in self._ledgers:
            return ledger
        schema = [bigquery.SchemaField("batch_key", "STRING", mode="REQUIRED"),
                  bigquery.SchemaField("table_name", "STRING", mode="REQUIRED"),
                  bigquery.SchemaField("attempt", "STRING", mode="REQUIRED"),
                  bigquery.SchemaField("row_count", "INT64"),
                  bigquery.SchemaField("applied_at", "TIMESTAMP")]
        with _as_warehouse_error("create batch ledger"):
            self._client.create_table(bigquery.Table(ledger, schema=schema), exists_ok=True)
        self._ledgers.add(ledger)
        return ledger

    @contextmanager
    def _staged(self, spec: TableSpec, payload: bytes) -> Iterator[str]:
        """A throwaway table holding `payload` (created by its load, or empty when there is none).
        The block's script drops it after its commit; if the block fails, it is deleted here."""
        staging = f"{self._project}.{spec.dataset}._staging_{uuid.uuid4().hex}"
        try:
            if payload:
                self._load(staging, spec, payload, bigquery.WriteDisposition.WRITE_EMPTY,
                           create=bigquery.CreateDisposition.CREATE_IF_NEEDED)
            else:
                with _as_warehouse_error("create staging table"):
                    self._client.create_table(bigquery.Table(staging, schema=_schema(spec)))
            yield staging
        except BaseException:
            self._client.delete_table(staging, not_found_ok=True)
            raise

    def _run_script(self, *statements: str, after_commit: Sequence[str] = ()) -> list[dict[str, Any]]:
        """`statements` in one transaction, then `after_commit` in the same job; the rows of the
        script's last statement (a script job answers with those)."""
        script = "\n".join(["BEGIN TRANSACTION;", *statements, "COMMIT TRANSACTION;", *after_commit])
        with _as_warehouse_error("transaction"):
            return [dict(row.items()) for row in self._run_query(script, bigquery.QueryJobConfig())]

    def _load(self, destination: str, spec: TableSpec, payload: bytes, disposition: str,
              create: str = bigquery.CreateDisposition.CREATE_NEVER) -> int:
        with _as_warehouse_error(f"load into {destination}"):
            job = self._client.load_table_from_file(
                io.BytesIO(payload), destination, location=self._location,
                job_config=_load_config(spec, disposition, create))
            job.result()
        return job.output_rows or 0

    # ---- reads ----------------------------------------------------------------------------

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        config = bigquery.QueryJobConfig(
            query_parameters=[query_parameter(name, value) for name, value in (params or {}).items()])
        with _as_warehouse_error("query"):
            return [dict(row.items()) for row in self._run_query(sql, config)]

    def _run_query(self, sql: str, config: bigquery.QueryJobConfig):
        """The rows of one finished query job. Not `query_and_wait` (jobs.query): bqemulator 1.4
        answers a failed query there as an empty success (a missing table, a failed script)."""
        job = self._client.query(sql, job_config=config, location=self._location, **self._retries())
        return job.result(retry=self._retries()["retry"])

    # ---- backups (sportsflow backup on the emulators) --------------------------------------

    def table_names(self) -> list[str]:
        """`dataset.table` of every table of the project, sorted."""
        with _as_warehouse_error("list tables"):
            return sorted(f"{dataset.dataset_id}.{table.table_id}" for dataset in self._client.list_datasets()
                          for table in self._client.list_tables(dataset.reference))

    def table_definition(self, name: str) -> dict[str, Any]:
        """What re-creates the table: schema, partitioning, clustering, description (API form)."""
        with _as_warehouse_error(f"read the definition of {name}"):
            table = self._client.get_table(f"{self._project}.{name}")
        return {"schema": [field.to_api_repr() for field in table.schema],
                "time_partitioning": table.time_partitioning.to_api_repr() if table.time_partitioning else None,
                "clustering": list(table.clustering_fields or []), "description": table.description}

    def create_table_with_rows(self, name: str, definition: Mapping[str, Any], ndjson: bytes) -> int:
        """Create `dataset.table` (dataset too) from a `table_definition` and load its rows; an
        existing table is an error (a restore writes only into an empty project)."""
        dataset = name.split(".", 1)[0]
        self.ensure_dataset(dataset)
        table = bigquery.Table(f"{self._project}.{name}",
                               schema=[bigquery.SchemaField.from_api_repr(f) for f in definition["schema"]])
        if definition.get("time_partitioning"):
            table.time_partitioning = bigquery.TimePartitioning.from_api_repr(definition["time_partitioning"])
        table.clustering_fields = definition.get("clustering") or None
        table.description = definition.get("description")
        with _as_warehouse_error(f"create {name}"):
            self._client.create_table(table)
        if not ndjson:
            return 0
        config = bigquery.LoadJobConfig(source_format=_NDJSON, schema=table.schema,
                                        write_disposition=bigquery.WriteDisposition.WRITE_EMPTY,
                                        create_disposition=bigquery.CreateDisposition.CREATE_NEVER)
        with _as_warehouse_error(f"load into {name}"):
            job = self._client.load_table_from_file(io.BytesIO(ndjson), table.reference, location=self._location,
                                                    job_config=config)
            job.result()
        return job.output_rows or 0

    def close(self) -> None:
        self._client.close()

    def _retries(self) -> dict[str, Any]:
        # The emulator answers bad rows with 500, which the default retry repeats for 600 s:
        # no retries there. BigQuery keeps the client's defaults (transient errors, quota).
        if self._emulator:
            return {"retry": None, "job_retry": None}
        return {"retry": DEFAULT_RETRY, "job_retry": DEFAULT_JOB_RETRY}

    def _table_id(self, spec: TableSpec) -> str:
        return f"{self._project}.{checked_identifier(spec.dataset)}.{checked_identifier(spec.name)}"


# ---- helpers ----------------------------------------------------------------------------------

def append_job_id(spec: TableSpec, batch_id: str) -> str:
    """The deterministic load-job id for one batch into one table."""
    return f"sportsflow_append_{spec.dataset}_{spec.name}_{_digest(batch_id)[:32]}"


def query_parameter(name: str, value: Any) -> bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter:
    """A typed query parameter for a Python value; a list becomes an ARRAY parameter whose
    element type comes from its first non-null item (STRING when it has none)."""
    if isinstance(value, (list, tuple)):
        element = next((v for v in value if v is not None), None)
        return bigquery.ArrayQueryParameter(name, _parameter_type(element) if element is not None
                                            else "STRING", list(value))
    return bigquery.ScalarQueryParameter(name, _parameter_type(value) if value is not None
                                         else "STRING", value)


def _parameter_type(value: Any) -> str:
    # Order matters: bool is an int, datetime is a date.
    for python_type, bigquery_type in ((bool, "BOOL"), (int, "INT64"), (float, "FLOAT64"),
                                       (Decimal, "NUMERIC"), (str, "STRING"),
                                       (datetime, "TIMESTAMP"), (date, "DATE")):
        if isinstance(value, python_type):
            return bigquery_type
    raise WarehouseError(f"no BigQuery parameter type for {type(value).__name__}")


def _schema(spec: TableSpec) -> list[bigquery.SchemaField]:
    return [bigquery.SchemaField(checked_identifier(f.name), f.type, mode=f.mode,
                                 description=f.description or None) for f in spec.fields]


def _load_config(spec: TableSpec, disposition: str,
                 create: str = bigquery.CreateDisposition.CREATE_NEVER) -> bigquery.LoadJobConfig:
    # CREATE_NEVER for real tables: a missing table is an error, not an unpartitioned table made
    # on the fly. Only staging tables are created by their load.
    return bigquery.LoadJobConfig(source_format=_NDJSON, schema=_schema(spec), write_disposition=disposition,
                                  create_disposition=create)


def _ndjson(rows: Sequence[Mapping[str, Any]]) -> bytes:
    # JSON fields are embedded as JSON values, dates and timestamps as ISO strings.
    return "".join(json.dumps(row, default=_isoformat) + "\n" for row in rows).encode()


def _isoformat(value: date | datetime) -> str:
    return value.isoformat()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@contextmanager
def _as_warehouse_error(action: str) -> Iterator[None]:
    """Google API errors raised in the block become WarehouseError naming the action."""
    try:
        yield
    except google_errors.GoogleAPICallError as err:
        raise WarehouseError(f"{action}: {err.message}") from err
