"""Apply a snapshot's writes exactly once: chunks of at most 400 rows, each one transaction with
its chunk marker, the way settlement applies its batches.

A chunk whose marker exists is skipped and its recorded counts reused, so a redelivery after a
crash half-way finishes the snapshot, applies nothing twice and still reports what the first
attempt changed. Each row is compared with the stored document first: missing -> inserted,
different -> updated (only the row's fields; the rest of the document — a match's result or
settlement key, a tournament's standings_version — is kept), equal -> unchanged.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from shared.ingestion.rows import Rejection, Write
from shared.ports.documents import DocumentStore, Transaction

CHUNK_ROWS = 400  # + the marker: well under Firestore's 500 writes per transaction
CHUNKS = "ingestion_chunks"


@dataclass
class Applied:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks_applied: int = 0
    chunks_skipped: int = 0
    ended_matches: list[str] = field(default_factory=list)  # results that changed a match to (a new) ended
    rejected: list[Rejection] = field(default_factory=list)  # rows whose match vanished meanwhile

    def counts(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged}


def chunk_marker_path(key: str, number: int) -> str:
    return f"{CHUNKS}/{hashlib.sha256(key.encode()).hexdigest()[:40]}__{number:05d}"


def apply_writes(documents: DocumentStore, key: str, writes: list[Write]) -> Applied:
    applied = Applied()
    for number, start in enumerate(range(0, len(writes), CHUNK_ROWS)):
        marker, now = _apply_chunk(documents, chunk_marker_path(key, number), writes[start:start + CHUNK_ROWS])
        applied.chunks_applied += now
        applied.chunks_skipped += not now
        for name in ("inserted", "updated", "unchanged"):
            setattr(applied, name, getattr(applied, name) + marker[name])
        applied.ended_matches += marker["ended_matches"]
        applied.rejected += [Rejection(**r) for r in marker["rejected"]]
    return applied


def _apply_chunk(documents: DocumentStore, marker_path: str, chunk: list[Write]) -> tuple[dict[str, Any], bool]:
    """(the chunk's marker, whether this call applied it)."""
    def apply(tx: Transaction) -> tuple[dict[str, Any], bool]:
        done, *stored = tx.get_all([marker_path, *(write.path for write in chunk)])  # one read, before any write
        if done is not None:
            return done.data, False
        existing = {write.path: document for write, document in zip(chunk, stored)}
        counts = {"inserted": 0, "updated": 0, "unchanged": 0, "ended_matches": [], "rejected": []}
        for write in chunk:
            current = existing[write.path]
            if current is None and not write.create:
                counts["rejected"].append({"kind": write.kind, "row_id": write.row_id,
                                           "reason": "the match is gone from the store"})
                continue
            if current is None:
                tx.create(write.path, write.create)
                counts["inserted"] += 1
            elif all(current.data.get(k) == v for k, v in write.patch.items()):
                counts["unchanged"] += 1
                continue
            else:
                tx.update(write.path, write.patch)
                counts["updated"] += 1
            if write.ends_match:
                counts["ended_matches"].append(write.row_id)
        tx.create(marker_path, {**counts, "rows": len(chunk), "at": documents.now()})
        return counts, True
    return documents.run_transaction(apply)
