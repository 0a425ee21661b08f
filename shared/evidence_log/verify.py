"""`sportsflow evidence verify`: recompute everything the log promises and name what is wrong.

Checks, each problem reported with what and where:

1. leaves: the leaf at position i says index i (a reordered or missing leaf breaks it), the head's
   size equals the number of leaves;
2. records: every leaf's evidence object exists, its bytes hash to the leaf's SHA-256 (and to the
   store's own record), and no evidence record is missing from the log;
3. checkpoints: each note's Ed25519 signature verifies with the trusted verifier key, its root is
   the recomputed root of the log at its size, two checkpoints of one size have one root (a fork
   otherwise), and each checkpoint is consistent with the one before (RFC 9162 consistency proof);
4. inclusion: every record's inclusion proof against the latest checkpoint verifies.

`since` (a checkpoint size) limits checks 2 and 4 to the records appended after it, and check 3
to the checkpoints from it on.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from shared.evidence_log.checkpoint import CheckpointError, Verifier
from shared.evidence_log.log import CHECKPOINT_PREFIX, EvidenceLog, Leaf
from shared.evidence_log.merkle import MerkleTree, ProofError, verify_consistency, verify_inclusion
from shared.ports.evidence import EvidenceError, IntegrityError
from shared.ports.evidence_rules import integrity_failure, sha256_hex

LOGGED_PREFIXES = ("validation/",)


@dataclass
class VerifyReport:
    leaves: int = 0
    records_checked: int = 0
    checkpoints: int = 0
    latest_checkpoint: dict | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    unsigned: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"ok": self.ok, "leaves": self.leaves, "records_checked": self.records_checked,
                "checkpoints": self.checkpoints, "latest_checkpoint": self.latest_checkpoint,
                "unsigned_records": self.unsigned, "problems": self.problems, "seconds": round(self.seconds, 3)}


def verify_log(log: EvidenceLog, verifier: Verifier, *, since: int = 0) -> VerifyReport:
    started = time.perf_counter()
    report = VerifyReport()
    leaves = _checked_leaves(log, report)
    tree = MerkleTree([leaf.hash() for leaf in leaves])
    _check_records(log, leaves[since:], report)
    _check_unlogged(log, {leaf.key for leaf in leaves}, report)
    latest = _check_checkpoints(log, verifier, tree, since, report)
    if latest is not None:
        _check_inclusion(tree, leaves, since, latest, report)
    report.seconds = time.perf_counter() - started
    for problem in report.problems:
        integrity_failure("evidence-log", problem)  # SPEC §2 alerts on any integrity failure
    return report


def _checked_leaves(log: EvidenceLog, report: VerifyReport) -> list[Leaf]:
    documents = log.leaf_documents()
    leaves = []
    for position, data in enumerate(documents):
        leaf = Leaf(int(data.get("index", -1)), str(data.get("key")), str(data.get("sha256")))
        if leaf.index != position:
            report.problems.append(f"leaf at position {position} says index {leaf.index} ({leaf.key}): "
                                   f"the log was reordered or a leaf was removed")
        leaves.append(leaf)
    report.leaves = len(leaves)
    if log.size() != len(leaves):
        report.problems.append(f"the log head says {log.size()} leaves but {len(leaves)} are stored: "
                               f"a leaf was dropped or added outside the log")
    return leaves


def _check_records(log: EvidenceLog, leaves: list[Leaf], report: VerifyReport) -> None:
    for leaf in leaves:
        report.records_checked += 1
        stored = log.evidence.head(leaf.key)
        if stored is None:
            report.problems.append(f"record {leaf.index} ({leaf.key}) is missing from the evidence store: dropped")
            continue
        try:
            data = log.evidence.get(leaf.key)
        except IntegrityError as error:
            report.problems.append(f"record {leaf.index} ({leaf.key}) was changed: {error}")
            continue
        except EvidenceError as error:
            report.problems.append(f"record {leaf.index} ({leaf.key}) cannot be read: {error}")
            continue
        if sha256_hex(data) != leaf.sha256:
            report.problems.append(f"record {leaf.index} ({leaf.key}) hashes to {sha256_hex(data)}, "
                                   f"the log recorded {leaf.sha256}: changed after it was logged")


def _check_unlogged(log: EvidenceLog, logged: set[str], report: VerifyReport) -> None:
    for prefix in LOGGED_PREFIXES:
        for obj in log.evidence.list(prefix):
            if obj.key not in logged:
                report.problems.append(f"evidence record {obj.key} is not in the log")


def _check_checkpoints(log: EvidenceLog, verifier: Verifier, tree: MerkleTree, since: int,
                       report: VerifyReport) -> tuple[int, bytes] | None:
    opened: list[tuple[str, int, bytes]] = []
    for key, note in log.checkpoint_notes():
        try:
            checkpoint = verifier.open(note)
        except CheckpointError as error:
            report.problems.append(f"checkpoint {key.removeprefix(CHECKPOINT_PREFIX)}: {error}")
            continue
        if checkpoint.origin != verifier.name:
            report.problems.append(f"checkpoint {key}: origin {checkpoint.origin!r} is not {verifier.name!r}")
            continue
        opened.append((key, checkpoint.size, checkpoint.root))
    opened = [c for c in opened if c[1] >= since]
    report.checkpoints = len(opened)
    by_size: dict[int, set[bytes]] = {}
    for _, size, root in opened:
        by_size.setdefault(size, set()).add(root)
    for size, roots in sorted(by_size.items()):
        if len(roots) > 1:
            report.problems.append(f"fork: {len(roots)} signed checkpoints of size {size} with different roots "
                                   f"({', '.join(sorted(r.hex()[:16] for r in roots))})")
    previous: tuple[int, bytes] | None = None
    for key, size, root in sorted(opened, key=lambda c: c[1]):
        if size > tree.size:
            report.problems.append(f"checkpoint of size {size} is beyond the log's {tree.size} leaves: "
                                   f"leaves were dropped")
            continue
        if tree.root(size) != root:
            report.problems.append(f"checkpoint of size {size} signed root {root.hex()[:16]}, the log now gives "
                                   f"{tree.root(size).hex()[:16]}: leaves before {size} were changed or reordered")
        if previous is not None and previous[0] != size:
            try:
                verify_consistency(previous[0], size, previous[1], root, tree.consistency_proof(previous[0], size))
            except ProofError as error:
                report.problems.append(f"checkpoints {previous[0]} -> {size} are not consistent: {error}")
        previous = (size, root)
    if previous is not None:
        report.latest_checkpoint = {"size": previous[0], "root": previous[1].hex()}
    return previous


def _check_inclusion(tree: MerkleTree, leaves: list[Leaf], since: int, latest: tuple[int, bytes],
                     report: VerifyReport) -> None:
    size, root = latest
    if size > tree.size:
        return
    for leaf in leaves[since:size]:
        try:
            verify_inclusion(leaf.hash(), leaf.index, size, tree.inclusion_proof(leaf.index, size), root)
        except (ProofError, ValueError) as error:
            report.problems.append(f"record {leaf.index} ({leaf.key}) has no valid inclusion proof in "
                                   f"checkpoint {size}: {error}")
    report.unsigned = tree.size - size  # appended after the latest checkpoint: covered by the next one
