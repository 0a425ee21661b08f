"""The append-only evidence log: one leaf per evidence record, in the document store, and signed
checkpoints of its Merkle tree, stored create-only beside the evidence.

    evidence_log/head                       {"size": n}
    evidence_log_leaves/{index:012d}        {"index", "key", "sha256"}: the leaf data (canonical JSON)
    evidence_log_keys/{sha256(key)}         {"index"}: a key is logged once, however often it is appended
    evidence-log/checkpoints/{size:012d}-{root16}.note   (evidence store) the signed checkpoint

Appending happens inside the caller's document transaction (with the decision it backs), so a
decision and its leaf are recorded together or not at all. Firestore's rule applies: the caller
does its own reads before `append` and its writes after it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from shared.evidence_log.checkpoint import Checkpoint, LogSigner
from shared.evidence_log.merkle import MerkleTree, leaf_hash
from shared.ports.documents import DocumentStore, Transaction
from shared.ports.evidence import EvidenceStore

HEAD = "evidence_log/head"
LEAVES = "evidence_log_leaves"
KEYS = "evidence_log_keys"
CHECKPOINT_PREFIX = "evidence-log/checkpoints/"
CHECKPOINT_RETENTION = timedelta(days=7 * 365)


@dataclass(frozen=True)
class Leaf:
    index: int
    key: str
    sha256: str

    def data(self) -> bytes:
        return canonical_json({"index": self.index, "key": self.key, "sha256": self.sha256})

    def hash(self) -> bytes:
        return leaf_hash(self.data())


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def leaf_path(index: int) -> str:
    return f"{LEAVES}/{index:012d}"


def _key_path(key: str) -> str:
    return f"{KEYS}/{hashlib.sha256(key.encode()).hexdigest()}"


class EvidenceLog:
    def __init__(self, documents: DocumentStore, evidence: EvidenceStore, signer: LogSigner | None = None) -> None:
        self.documents = documents
        self.evidence = evidence
        self.signer = signer

    # --- appending ---------------------------------------------------------------------------
    def append(self, tx: Transaction, key: str, sha256: str) -> int:
        """The leaf index of `key` (appended now unless it already was). Reads, then writes."""
        return self.append_many(tx, [(key, sha256)])[0]

    def append_many(self, tx: Transaction, records: list[tuple[str, str]]) -> list[int]:
        """The leaf index of each (key, sha256), appending those not logged yet, in order.
        All reads happen before any write (Firestore's transaction rule)."""
        logged = [tx.get(_key_path(key)) for key, _ in records]
        head = tx.get(HEAD)
        size = int(head.data["size"]) if head else 0
        indexes, appended = [], {}
        for (key, sha256), known in zip(records, logged):
            if known is not None:
                indexes.append(int(known.data["index"]))
                continue
            if key in appended:  # the same key twice in one batch
                indexes.append(appended[key])
                continue
            tx.create(leaf_path(size), {"index": size, "key": key, "sha256": sha256})
            tx.create(_key_path(key), {"index": size, "key": key})
            appended[key] = size
            indexes.append(size)
            size += 1
        if appended:
            tx.set(HEAD, {"size": size})
        return indexes

    def append_now(self, key: str, sha256: str) -> int:
        return self.documents.run_transaction(lambda tx: self.append(tx, key, sha256))

    # --- reading -----------------------------------------------------------------------------
    def size(self) -> int:
        head = self.documents.get(HEAD)
        return int(head.data["size"]) if head else 0

    def leaves(self) -> list[Leaf]:
        return [Leaf(int(d["index"]), d["key"], d["sha256"]) for d in self.leaf_documents()]

    def leaf_documents(self) -> list[dict]:
        docs = sorted(self.documents.query(LEAVES), key=lambda doc: doc.id)
        return [doc.data for doc in docs]

    def index_of(self, key: str) -> int | None:
        logged = self.documents.get(_key_path(key))
        return int(logged.data["index"]) if logged else None

    def tree(self) -> MerkleTree:
        return MerkleTree([leaf.hash() for leaf in self.leaves()])

    # --- checkpoints -------------------------------------------------------------------------
    def checkpoint(self) -> tuple[Checkpoint, str] | None:
        """Sign the current tree (unless the latest checkpoint already has this size) and store the
        note create-only; the checkpoint and its note, or None for an empty log."""
        if self.signer is None:
            raise RuntimeError("this evidence log has no signing key")
        tree = self.tree()
        if tree.size == 0:
            return None
        latest = self.latest_checkpoint_note()
        if latest is not None and latest[0] == tree.size:
            return None
        checkpoint = Checkpoint(self.signer.name, tree.size, tree.root())
        note = self.signer.sign(checkpoint)
        self.evidence.put(checkpoint_key(checkpoint), note.encode(), content_type="text/plain; charset=utf-8",
                          retain_until=datetime.now(timezone.utc) + CHECKPOINT_RETENTION)
        return checkpoint, note

    def checkpoint_notes(self) -> list[tuple[str, str]]:
        """(evidence key, note text) of every stored checkpoint, oldest size first (unverified)."""
        objects = sorted(self.evidence.list(CHECKPOINT_PREFIX), key=lambda obj: obj.key)
        return [(obj.key, self.evidence.get(obj.key).decode()) for obj in objects]

    def latest_checkpoint_note(self) -> tuple[int, str] | None:
        objects = sorted(self.evidence.list(CHECKPOINT_PREFIX), key=lambda obj: obj.key)
        if not objects:
            return None
        key = objects[-1].key
        return int(key.removeprefix(CHECKPOINT_PREFIX).split("-")[0]), self.evidence.get(key).decode()


def checkpoint_key(checkpoint: Checkpoint) -> str:
    return f"{CHECKPOINT_PREFIX}{checkpoint.size:012d}-{checkpoint.root.hex()[:16]}.note"

