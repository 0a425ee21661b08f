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

class ConformedRows(list):
    """Rows conform_rows produced for `spec`: conforming them again for the same spec returns
    them as they are (a processor conforms once to hash its output; the load does not redo it)."""

    def __init__(self, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
        super().__init__(rows)
        self.spec = spec


def conform_rows(spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> ConformedRows:
    """Rows as dicts holding every field of `spec`, values as Python types of the field type
    (JSON values stay Python objects). Raises SchemaMismatch naming the offending field."""
    if isinstance(rows, ConformedRows) and rows.spec == spec:
        return rows
    fields = {f.name: f for f in spec.fields}
    plan = _conform_plan(spec)
    return ConformedRows(spec, [_conform_row(spec, fields, plan, index, row) for index, row in enumerate(rows)])


def _conform_plan(spec: TableSpec) -> tuple[tuple[str, bool, type | None, Callable[[Any], Any]], ...]:
    """Per field: name, whether REQUIRED, the type a value already conforms as, the coercer."""
    return tuple((f.name, f.mode == "REQUIRED", _ALREADY.get(f.type), _COERCERS[f.type]) for f in spec.fields)


def _conform_row(spec: TableSpec, fields: Mapping[str, FieldSpec], plan, index: int,
                 row: Mapping[str, Any]) -> dict[str, Any]:
    if any(name not in fields for name in row):
        unknown = [name for name in row if name not in fields]
        raise SchemaMismatch(f"{spec.qualified_name} row {index}: unknown field {unknown[0]!r}")
    conformed = {}
    for name, required, already, coerce in plan:
        value = row.get(name)
        if value is None:
            if required:
                raise SchemaMismatch(f"{spec.qualified_name} row {index}: "
                                     f"field {name!r} is REQUIRED but missing")
            conformed[name] = None
            continue
        if type(value) is already:  # the value is its field type's own Python type: nothing to coerce
            conformed[name] = value
            continue
        try:
            conformed[name] = coerce(value)
        except (TypeError, ValueError, OverflowError) as err:
            raise SchemaMismatch(f"{spec.qualified_name} row {index}: field {name!r} "
                                 f"({fields[name].type}) cannot hold {value!r}: {err}") from None
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


# A value of exactly this type is already conformed (an int still has its INT64 range checked).
_ALREADY: dict[str, type] = {"STRING": str, "FLOAT64": float, "BOOL": bool, "DATE": date}

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
