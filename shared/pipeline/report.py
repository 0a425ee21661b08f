"""What a pipeline run produced for a date, comparable across runs and backends.

A table's checksum is order-independent and ignores what legitimately differs between two
runs of the same date (run ids, processing timestamps): the SHA-256 over the sorted
SHA-256s of each row's canonical JSON.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable

from shared.ports.warehouse import TableSpec, Warehouse

# Columns that name a run or when it happened, not what it computed.
VOLATILE_COLUMNS = frozenset({"run_id", "correlation_id", "processed_at", "created_at", "updated_at",
                              "loaded_at", "started_at", "finished_at"})


@dataclass(frozen=True)
class TableResult:
    table: str
    rows: int
    checksum: str


@dataclass
class RunReport:
    analysis_date: date
    backend: str
    source: str
    tables: list[TableResult] = field(default_factory=list)
    triggers: dict[str, int] = field(default_factory=dict)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0
    chaos_seed: int | None = None
    faults: dict[str, int] = field(default_factory=dict)
    finished: bool = True
    missing: list[str] = field(default_factory=list)
    stale: dict[str, list[str]] = field(default_factory=dict)
    predictions: dict[str, Any] = field(default_factory=dict)  # Phase 5 coverage (shared.predictions.coverage)
    top_predictions: list[dict[str, Any]] = field(default_factory=list)  # the highest ensemble points
    no_games: bool = False  # the source's schedule lists no game on the date: nothing ran
    empty_reasons: dict[str, str] = field(default_factory=dict)  # table -> why it is empty

    @property
    def note(self) -> str | None:
        if self.no_games:
            return (f"no scheduled games on {self.analysis_date} in {self.source}: nothing to load or predict, "
                    "no downstream trigger fired")
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.analysis_date.isoformat(), "backend": self.backend, "source": self.source,
            "chaos_seed": self.chaos_seed, "duration_s": round(self.duration_s, 3),
            "finished": self.finished, "missing": self.missing, "stale": self.stale,
            "tables": {t.table: {"rows": t.rows, "checksum": t.checksum} for t in self.tables},
            "triggers": dict(sorted(self.triggers.items())),
            "dead_letters": self.dead_letters,
            "faults_injected": self.faults,
            "predictions": self.predictions,
            "top_predictions": self.top_predictions,
            "no_games": self.no_games,
            "empty_reasons": self.empty_reasons,
            "note": self.note,
        }


def table_results(warehouse: Warehouse, specs: Iterable[TableSpec], day: date, *, checksums: bool = True
                  ) -> list[TableResult]:
    """Rows and content checksum of each table's partition for `day` (checksums=False: counts only)."""
    results = []
    for spec in sorted(specs, key=lambda s: s.qualified_name):
        where = f"FROM {spec.qualified_name} WHERE {spec.partition_field} = @d"
        if checksums:
            rows = warehouse.query(f"SELECT * {where}", {"d": day})
            results.append(TableResult(spec.qualified_name, len(rows), content_checksum(rows)))
        else:
            count = warehouse.query(f"SELECT COUNT(*) AS n {where}", {"d": day})[0]["n"]
            results.append(TableResult(spec.qualified_name, count, ""))
    return results


def content_checksum(rows: Iterable[dict[str, Any]]) -> str:
    row_hashes = sorted(_row_hash(row) for row in rows)
    return hashlib.sha256("".join(row_hashes).encode()).hexdigest()


_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


def _row_hash(row: dict[str, Any]) -> str:
    content = {k: _canonical(v) for k, v in row.items() if k not in VOLATILE_COLUMNS}
    return hashlib.sha256(_encode(content).encode()).hexdigest()


def _canonical(value: Any) -> Any:
    """One spelling per value, whichever backend returned it."""
    kind = type(value)
    if kind in _AS_IS:  # the common cases first: most values are ints, plain strings or NULL
        return value
    if kind is str and value[:1] not in "[{":
        return value
    if kind is float:
        return round(value, 9)
    return _canonical_other(value)


_AS_IS = frozenset({int, bool, type(None)})


def _canonical_other(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return _canonical(json.loads(value))
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value
