"""Warehouse port: BigQuery's model, reduced to what we use.

Tables live in datasets and are usually partitioned by a DATE column. SQL given to
`query` is BigQuery Standard SQL with `dataset.table` references and `@name` parameters;
the embedded adapter transpiles it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Mapping, Protocol, Sequence

FieldType = Literal["STRING", "INT64", "FLOAT64", "BOOL", "DATE", "TIMESTAMP", "JSON"]
FieldMode = Literal["NULLABLE", "REQUIRED"]


class WarehouseError(Exception):
    """Base of warehouse errors."""


class SchemaMismatch(WarehouseError):
    """Rows do not fit the table's schema (missing required field, unknown field, wrong type)."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    mode: FieldMode = "NULLABLE"
    description: str = ""


def required(name: str, type_: FieldType, description: str = "") -> FieldSpec:
    return FieldSpec(name, type_, "REQUIRED", description)


def nullable(name: str, type_: FieldType, description: str = "") -> FieldSpec:
    return FieldSpec(name, type_, "NULLABLE", description)


@dataclass(frozen=True)
class TableSpec:
    dataset: str
    name: str
    fields: tuple[FieldSpec, ...]
    partition_field: str | None = None
    clustering: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.dataset}.{self.name}"


class Warehouse(Protocol):
    def ensure_dataset(self, dataset: str) -> None: ...

    def ensure_table(self, spec: TableSpec) -> None:
        """Create if absent (idempotent). Partitioned by spec.partition_field (DATE)."""

    def append_rows(self, spec: TableSpec, rows: Sequence[Mapping[str, Any]], *, batch_id: str) -> int:
        """Append rows once per batch_id: a repeated call with the same batch_id appends
        nothing and returns 0. Returns rows appended."""

    def replace_partition(self, spec: TableSpec, partition: date, rows: Sequence[Mapping[str, Any]]) -> int:
        """Make the partition hold exactly `rows` (re-running never duplicates)."""

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one parameterised BigQuery-dialect statement; rows as dicts."""

    def close(self) -> None: ...
