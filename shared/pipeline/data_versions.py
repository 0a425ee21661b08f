"""Data versions: what each processor produced for a date, and what it was produced from.

The design follows Dagster's data versions and staleness:

- A processor's output for a date has a **data version**: the content checksum of the rows
  it wrote (run ids and timestamps excluded), so the same rows are the same version however
  often, wherever and in whichever order they were computed.
- Its **provenance** is its code version plus the data versions of everything it read: each
  same-date input's version, and for a history input one fingerprint over the versions of
  every earlier date it read. The run key is a hash of the provenance: the same inputs again
  are a no-op; a corrected input gives a new key and the processor runs again.
- A finished run whose recorded provenance differs from the current one is **stale**, and
  the differing entries say why.

The current version of `processor` on `day` lives at `data_versions/{processor}/dates/{day}`,
written in the same transaction that records the run's success (run_history.finish).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence

from shared.ports.documents import DocumentStore

if TYPE_CHECKING:
    from shared.ports.warehouse import TableSpec

COLLECTION = "data_versions"
RECOMPUTE_REQUESTS = "recompute_requests"
ABSENT = "absent"
Window = Literal["date", "before", "through"]


@dataclass(frozen=True)
class Input:
    """One thing a processor reads: another processor's output on D only (`date`), on every
    date of D's season before D (`before`), or on every date up to and including D (`through`,
    e.g. the latest registry partition ≤ D). `optional` inputs are one of several sources
    (game ids from the schedule or the team box scores): read if there, never waited for."""
    processor: str
    window: Window = "date"
    optional: bool = False  # a processor that waits for its inputs does not wait for this one

    @property
    def key(self) -> str:
        return f"{self.processor}@{self.window}"


def version_path(processor: str, day: date) -> str:
    return f"{COLLECTION}/{processor}/dates/{day.isoformat()}"


def current_version(documents: DocumentStore, processor: str, day: date) -> str | None:
    document = documents.get(version_path(processor, day))
    return document.data["version"] if document else None


def versions_between(documents: DocumentStore, processor: str, *, after: date | None, before: date,
                     inclusive: bool) -> dict[str, str]:
    """date → version of `processor` for dates in (after, before) or (after, before]."""
    filters = [("date", "<=" if inclusive else "<", before.isoformat())]
    if after is not None:
        filters.append(("date", ">=", after.isoformat()))
    return {doc.data["date"]: doc.data["version"]
            for doc in documents.query(f"{COLLECTION}/{processor}/dates", filters)}


def input_version(documents: DocumentStore, spec: Input, day: date, season_start: date) -> str:
    if spec.window == "date":
        return current_version(documents, spec.processor, day) or ABSENT
    versions = versions_between(documents, spec.processor, after=season_start if spec.window == "before" else None,
                                before=day, inclusive=spec.window == "through")
    return fingerprint(versions) if versions else ABSENT


def provenance(documents: DocumentStore, *, code_version: str, reads: tuple[Input, ...], day: date,
               season_start: date, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """What a run for `day` would be computed from, as of now."""
    found = {"code": code_version, **(extra or {})}
    redo = recompute_requests(documents, day)
    if redo:
        found["redo"] = str(redo)
    for spec in reads:
        version = input_version(documents, spec, day, season_start)
        if not (spec.optional and version == ABSENT):  # a fallback source that was not there was not read
            found[spec.key] = version
    return found


def request_recompute(documents: DocumentStore, day: date) -> int:
    """`--redo`: every processor's provenance for `day` changes, so everything runs again once."""
    path = f"{RECOMPUTE_REQUESTS}/{day.isoformat()}"

    def bump(tx) -> int:
        current = tx.get(path)
        count = (int(current.data["count"]) if current else 0) + 1
        tx.set(path, {"date": day.isoformat(), "count": count})
        return count

    return documents.run_transaction(bump)


def recompute_requests(documents: DocumentStore, day: date) -> int:
    document = documents.get(f"{RECOMPUTE_REQUESTS}/{day.isoformat()}")
    return int(document.data["count"]) if document else 0


def content_version(spec: "TableSpec", rows: Sequence[Mapping[str, Any]]) -> str:
    """The data version of conformed rows: order-independent, run ids and timestamps excluded.
    (repr of the conformed values: 4x cheaper than the report's canonical JSON, and only ever
    compared with versions computed the same way.)"""
    from shared.pipeline.report import VOLATILE_COLUMNS
    keys = [f.name for f in spec.fields if f.name not in VOLATILE_COLUMNS]
    lines = sorted(repr(tuple(row.get(k) for k in keys)) for row in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:32]


def fingerprint(values: Mapping[str, object]) -> str:
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def still_holds(recorded: Mapping[str, str] | None, current: Mapping[str, str],
                optional: frozenset[str] = frozenset()) -> bool:
    """Whether a run made from `recorded` is still current: everything it read is unchanged,
    and whatever else is there now is only an optional source it did not need."""
    if not recorded:
        return False
    return all(current.get(k) == v for k, v in recorded.items()) and set(current) - set(recorded) <= optional


def changes(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """Why a run is stale: each input whose version differs, in words."""
    reasons = []
    for key in sorted(set(recorded) | set(current)):
        if recorded.get(key) != current.get(key):
            reasons.append(_describe(key, recorded.get(key), current.get(key)))
    return reasons


def _describe(key: str, was: str | None, now: str | None) -> str:
    if key == "code":
        return f"code version {was} → {now}"
    if key == "redo":
        return f"recomputation requested (--redo #{now})"
    processor, _, window = key.partition("@")
    where = {"date": "on the date", "before": "on earlier dates of the season",
             "through": "up to the date"}.get(window, key)
    if was in (None, ABSENT):
        return f"{processor} {where} appeared"
    if now in (None, ABSENT):
        return f"{processor} {where} disappeared"
    return f"{processor} {where} changed"
