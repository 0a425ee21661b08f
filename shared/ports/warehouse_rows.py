"""The warehouse port's row contract, enforced identically by every adapter: an unknown
field, a missing REQUIRED value or a value the field type cannot hold raises
SchemaMismatch naming the field (as BigQuery would)."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Mapping, Sequence

from shared.ports.warehouse import FieldSpec, SchemaMismatch, TableSpec, WarehouseError

_INT64_RANGE = (-(2**63), 2**63 - 1)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")

def conform_rows(spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows as dicts holding every field of `spec`, values as Python types of the field type
    (JSON values stay Python objects). Raises SchemaMismatch naming the offending field."""
    fields = {f.name: f for f in spec.fields}
    return [_conform_row(spec, fields, index, row) for index, row in enumerate(rows)]


def _conform_row(spec: TableSpec, fields: Mapping[str, FieldSpec], index: int,
                 row: Mapping[str, Any]) -> dict[str, Any]:
    unknown = [name for name in row if name not in fields]
    if unknown:
        raise SchemaMismatch(f"{spec.qualified_name} row {index}: unknown field {unknown[0]!r}")
    conformed = {}
    for name, field in fields.items():
        value = row.get(name)
        if value is None:
            if field.mode == "REQUIRED":
                raise SchemaMismatch(f"{spec.qualified_name} row {index}: "
                                     f"field {name!r} is REQUIRED but missing")
            conformed[name] = None
            continue
        try:
            conformed[name] = _COERCERS[field.type](value)
        except (TypeError, ValueError, OverflowError) as err:
            raise SchemaMismatch(f"{spec.qualified_name} row {index}: field {name!r} "
                                 f"({field.type}) cannot hold {value!r}: {err}") from None
    return conformed


def _to_string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _to_int64(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError("not an integer")
    number = int(value)
    if not _INT64_RANGE[0] <= number <= _INT64_RANGE[1]:
        raise OverflowError("outside INT64")
    return number


def _to_float64(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise TypeError("not a number")
    return float(value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TypeError("not a boolean")


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise TypeError("a datetime is not a DATE")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError("not a date")


def _to_timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError("not a datetime")
    # A naive datetime is UTC, as BigQuery reads a TIMESTAMP without an offset.
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _to_json(value: Any) -> Any:
    json.dumps(value, allow_nan=False)  # raises TypeError/ValueError when not JSON
    return value


_COERCERS: dict[str, Callable[[Any], Any]] = {
    "STRING": _to_string,
    "INT64": _to_int64,
    "FLOAT64": _to_float64,
    "BOOL": _to_bool,
    "DATE": _to_date,
    "TIMESTAMP": _to_timestamp,
    "JSON": _to_json,
}


def rows_in_partition(spec: TableSpec, partition: date, rows: Sequence[Mapping[str, Any]]) -> None:
    """Raise SchemaMismatch unless the table is partitioned and every row is in `partition`."""
    if spec.partition_field is None:
        raise WarehouseError(f"{spec.qualified_name} has no partition field")
    for index, row in enumerate(rows):
        if row[spec.partition_field] != partition:
            raise SchemaMismatch(f"{spec.qualified_name} row {index}: field {spec.partition_field!r} "
                                 f"is {row[spec.partition_field]!r}, outside partition {partition}")


def checked_identifier(name: str) -> str:
    """A dataset, table or field name safe to put in SQL (BigQuery's naming rules)."""
    if not _IDENTIFIER.match(name):
        raise WarehouseError(f"invalid name {name!r}: use letters, digits and underscores")
    return name
