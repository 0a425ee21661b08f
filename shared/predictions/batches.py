"""The Phase 5 batch ledger: one batch per (date, input version), fanned out exactly once and
fanned back in without a hot document.

    phase5_dates/{date}                      the date's current batch and generation
    phase5_batches/{batch}                   the batch: players, versions, fan-out progress and lease
    phase5_batches/{batch}/ready/{player}    one document per player's readiness (never one shared counter)

A batch's input version is the data version of the date's `ml_feature_store_v2` rows plus the
model version of each system: the same inputs give the same batch id, so whichever routes
fire (/trigger, /start, /retry, the reconciler), in any order or concurrently, the batch is
created once. Creating it takes its fan-out lease (on the document store's clock); the holder
publishes requests in chunks and records how far it got, so a crashed fan-out is resumed from
its last chunk by whoever takes the expired lease (a chunk may be published twice: workers
dedupe per batch and player). New inputs (a correction, a retrained model) make a new batch
with a higher generation; the date points at the newest.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Iterable

from shared.pipeline import data_versions
from shared.ports.documents import DocumentStore

BATCHES = "phase5_batches"
DATES = "phase5_dates"
FANOUT_LEASE = timedelta(seconds=90)  # longer than publishing one chunk can take
CHUNK = 100


@dataclass(frozen=True)
class Player:
    player_id: int
    game_id: str


@dataclass
class Batch:
    batch_id: str
    game_date: date
    generation: int
    feature_data_version: str
    model_versions: dict[str, str]      # system → the version its predictions name
    players: list[Player]
    published_upto: int = 0
    fanned_out: bool = False
    created_by: str = ""
    created_at: datetime | None = None
    lease_holder: str | None = None
    lease_until: datetime | None = None
    stored_model_versions: dict[str, str] = field(default_factory=dict)  # what workers load

    @property
    def expected(self) -> int:
        return len(self.players)

    @classmethod
    def from_document(cls, data: dict[str, Any]) -> "Batch":
        return cls(batch_id=data["batch_id"], game_date=date.fromisoformat(data["game_date"]),
                   generation=int(data["generation"]), feature_data_version=data["feature_data_version"],
                   model_versions=dict(data["model_versions"]),
                   players=list(_roster(tuple(data["players"]))),
                   published_upto=int(data["published_upto"]), fanned_out=bool(data["fanned_out"]),
                   created_by=data.get("created_by", ""), created_at=data.get("created_at"),
                   lease_holder=data.get("lease_holder"), lease_until=data.get("lease_until"),
                   stored_model_versions=dict(data.get("stored_model_versions") or {}))


def batch_key(feature_data_version: str, model_versions: dict[str, str]) -> str:
    return data_versions.fingerprint({"features": feature_data_version, "models": dict(sorted(model_versions.items()))})


def batch_id_for(day: date, key: str) -> str:
    return hashlib.sha256(f"phase5|{day.isoformat()}|{key}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Opened:
    batch: Batch
    created: bool       # this call created the batch
    lease: str | None   # the fan-out lease this call holds (None: someone else fans out, or it is done)


class BatchLedger:
    def __init__(self, documents: DocumentStore):
        self._documents = documents

    # --- opening a batch -------------------------------------------------------------------
    def open(self, day: date, feature_data_version: str, model_versions: dict[str, str],
             players: Iterable[Player], *, created_by: str, claimant: str,
             stored_model_versions: dict[str, str] | None = None) -> Opened:
        """The batch for these inputs, created now if absent (then this call holds its fan-out lease)."""
        key = batch_key(feature_data_version, model_versions)
        batch_id = batch_id_for(day, key)
        path = f"{BATCHES}/{batch_id}"
        attempt = uuid.uuid4().hex
        roster = sorted(set(players), key=lambda p: (p.player_id, p.game_id))

        def create(tx) -> bool:
            if tx.get(path) is not None:
                return False
            pointer = tx.get(_date_path(day))
            generation = int(pointer.data["generation"]) + 1 if pointer else 1
            now = self._documents.now()
            tx.create(path, {
                "batch_id": batch_id, "game_date": day.isoformat(), "batch_key": key, "generation": generation,
                "feature_data_version": feature_data_version, "model_versions": dict(model_versions),
                "stored_model_versions": dict(stored_model_versions or {}),
                "players": [f"{p.player_id}|{p.game_id}" for p in roster], "expected": len(roster),
                "published_upto": 0, "fanned_out": False, "created_by": created_by, "claimant": claimant,
                "created_at": now, "lease_holder": attempt, "lease_until": now + FANOUT_LEASE,
                "fanned_out_at": None})
            tx.set(_date_path(day), {"game_date": day.isoformat(), "batch_id": batch_id, "generation": generation,
                                     "updated_at": now})
            return True

        created = self._documents.run_transaction(create)
        batch = self.get(batch_id)
        return Opened(batch, created, attempt if created else None)

    def take_fanout_lease(self, batch_id: str, *, claimant: str, holder_is_dead: bool = False) -> str | None:
        """The right to continue an unfinished fan-out: when no live lease is held (a crashed
        fan-out's lease has run out on the store's clock). Returns the lease, or None."""
        path = f"{BATCHES}/{batch_id}"
        attempt = uuid.uuid4().hex

        def take(tx) -> str | None:
            data = tx.get(path).data
            now = self._documents.now()
            live = data.get("lease_holder") and data.get("lease_until") and data["lease_until"] > now
            if data["fanned_out"] or (live and not holder_is_dead):
                return None
            tx.update(path, {"lease_holder": attempt, "lease_until": now + FANOUT_LEASE, "claimant": claimant})
            return attempt

        return self._documents.run_transaction(take)

    def advance(self, batch_id: str, lease: str, published_upto: int, *, done: bool) -> None:
        """Record fan-out progress under the lease (renewing it); a lost lease raises."""
        path = f"{BATCHES}/{batch_id}"

        def record(tx) -> None:
            data = tx.get(path).data
            if data.get("lease_holder") != lease:
                raise LeaseLost(f"batch {batch_id}: the fan-out lease passed to another caller")
            now = self._documents.now()
            changes: dict[str, Any] = {"published_upto": max(int(data["published_upto"]), published_upto),
                                       "lease_until": now + FANOUT_LEASE}
            if done:
                changes.update({"fanned_out": True, "fanned_out_at": now, "lease_holder": None, "lease_until": None})
            tx.update(path, changes)

        self._documents.run_transaction(record)

    def break_dead_leases(self) -> list[str]:
        """End every unfinished fan-out's lease now. Only for a caller that knows no other process
        works on this store (the embedded backend at start: DuckDB admits one process)."""
        broken = []
        for document in self._documents.query(BATCHES, [("fanned_out", "==", False)]):
            if document.data.get("lease_holder"):
                self.release(document.data["batch_id"], document.data["lease_holder"])
                broken.append(document.path)
        return broken

    def release(self, batch_id: str, lease: str) -> None:
        path = f"{BATCHES}/{batch_id}"

        def release(tx) -> None:
            if tx.get(path).data.get("lease_holder") == lease:
                tx.update(path, {"lease_holder": None, "lease_until": None})

        self._documents.run_transaction(release)

    def mark_complete(self, batch: "Batch") -> None:
        """Every player of `batch` is predicted: the date's pointer says so (when it is still the current batch)."""
        path = _date_path(batch.game_date)

        def mark(tx) -> None:
            pointer = tx.get(path)
            if pointer is not None and pointer.data["batch_id"] == batch.batch_id:
                tx.update(path, {"completed_batch_id": batch.batch_id, "updated_at": self._documents.now()})

        self._documents.run_transaction(mark)

    def pointer(self, day: date) -> dict[str, Any] | None:
        document = self._documents.get(_date_path(day))
        return document.data if document else None

    # --- reading -------------------------------------------------------------------------------
    def get(self, batch_id: str) -> Batch | None:
        document = self._documents.get(f"{BATCHES}/{batch_id}")
        return Batch.from_document(document.data) if document else None

    def current(self, day: date) -> Batch | None:
        pointer = self._documents.get(_date_path(day))
        return self.get(pointer.data["batch_id"]) if pointer else None

    def batches(self, day: date) -> list[Batch]:
        found = self._documents.query(BATCHES, [("game_date", "==", day.isoformat())])
        return sorted((Batch.from_document(d.data) for d in found), key=lambda b: b.generation)

    def dates(self, since: date | None = None) -> list[date]:
        filters = [("game_date", ">=", since.isoformat())] if since else []
        return sorted(date.fromisoformat(d.data["game_date"]) for d in self._documents.query(DATES, filters))

    # --- fan-in --------------------------------------------------------------------------------
    def record_ready(self, batch_id: str, player_id: int, *, succeeded: bool, error: str | None,
                     predictions: int, message_id: str) -> bool:
        """One document per player: a success is never replaced; a failure is replaced by a later success.
        True when this call changed it."""
        path = _ready_path(batch_id, player_id)

        def record(tx) -> bool:
            current = tx.get(path)
            if current is not None and (current.data["succeeded"] or not succeeded):
                return False
            tx.set(path, {"batch_id": batch_id, "player_id": player_id, "succeeded": succeeded, "error": error,
                          "predictions": predictions, "message_id": message_id,
                          "recorded_at": self._documents.now()})
            return True

        return self._documents.run_transaction(record)

    def ready(self, batch_id: str) -> dict[int, dict[str, Any]]:
        return {int(d.data["player_id"]): d.data for d in self._documents.query(f"{BATCHES}/{batch_id}/ready")}

    def done(self, batch_id: str) -> set[int]:
        """Players whose worker recorded their rows (shared.predictions.worker: the `done` marker)."""
        return {int(d.data["player_id"]) for d in self._documents.query(f"{BATCHES}/{batch_id}/done")}

    def done_count(self, batch_id: str) -> int:
        return self._documents.count(f"{BATCHES}/{batch_id}/done")

    def succeeded_count(self, batch_id: str) -> int:
        return self._documents.count(f"{BATCHES}/{batch_id}/ready", [("succeeded", "==", True)])


class LeaseLost(RuntimeError):
    """Another caller took over this fan-out (ours ran out): stop; it continues from the recorded chunk."""


@lru_cache(maxsize=8)
def _roster(entries: tuple[str, ...]) -> tuple[Player, ...]:
    """A stored roster parsed once per process: every worker and readiness message of a slate
    reads the batch, and parsing its hundreds of players each time made the fan-in quadratic."""
    return tuple(_player(entry) for entry in entries)


def _player(entry: str) -> Player:
    """Stored as 'player_id|game_id' (Firestore holds no arrays inside arrays)."""
    player_id, _, game_id = entry.partition("|")
    return Player(int(player_id), game_id)


def _date_path(day: date) -> str:
    return f"{DATES}/{day.isoformat()}"


def _ready_path(batch_id: str, player_id: int) -> str:
    return f"{BATCHES}/{batch_id}/ready/{player_id}"
