"""`sportsflow evidence prove RECORD`: an inclusion proof a third party checks with the public key alone.

The bundle carries the record's leaf data, its index, the audit path and the signed checkpoint
note; `check_bundle(bundle, verifier_key)` needs nothing else (no store, no log): it verifies
the note's signature, recomputes the leaf hash and walks the path to the signed root. If the
record's bytes are given, it also checks they hash to the SHA-256 in the leaf.
"""
from __future__ import annotations

import base64
import json

from shared.evidence_log.checkpoint import Verifier, parse_body
from shared.evidence_log.log import EvidenceLog, Leaf, canonical_json
from shared.evidence_log.merkle import ProofError, leaf_hash, verify_inclusion
from shared.ports.evidence_rules import sha256_hex

BUNDLE_FORMAT = "sportsflow-inclusion-proof/v1"


class RecordNotLogged(LookupError):
    pass


def inclusion_bundle(log: EvidenceLog, key: str) -> dict:
    index = log.index_of(key)
    if index is None:
        raise RecordNotLogged(f"{key!r} is not in the evidence log")
    latest = log.latest_checkpoint_note()
    if latest is None or latest[0] <= index:
        raise RecordNotLogged(f"{key!r} (leaf {index}) is not covered by a signed checkpoint yet: "
                              f"run `sportsflow evidence checkpoint` first")
    size, note = latest
    leaf = log.leaves()[index]
    tree = log.tree()
    return {
        "format": BUNDLE_FORMAT,
        "key": key,
        "leaf_index": index,
        "leaf_data": leaf.data().decode(),
        "tree_size": size,
        "audit_path": [base64.b64encode(h).decode() for h in tree.inclusion_proof(index, size)],
        "checkpoint": note,
        "hashing": "RFC 9162: leaf = SHA-256(0x00 || leaf_data), node = SHA-256(0x01 || left || right)",
    }


def check_bundle(bundle: dict, verifier_key: str, record: bytes | None = None) -> None:
    """Raise ProofError or CheckpointError unless the bundle proves the record is in the signed log."""
    checkpoint = Verifier.parse(verifier_key).open(bundle["checkpoint"])
    if checkpoint.size != bundle["tree_size"]:
        raise ProofError(f"bundle says tree size {bundle['tree_size']}, its checkpoint {checkpoint.size}")
    leaf_data = bundle["leaf_data"].encode()
    fields = json.loads(leaf_data)
    if fields.get("index") != bundle["leaf_index"] or fields.get("key") != bundle["key"]:
        raise ProofError("leaf data names another record or index")
    if canonical_json(fields) != leaf_data:
        raise ProofError("leaf data is not in canonical form")
    if record is not None and sha256_hex(record) != fields["sha256"]:
        raise ProofError("the record's bytes do not hash to the SHA-256 in the log")
    path = [base64.b64decode(h) for h in bundle["audit_path"]]
    verify_inclusion(leaf_hash(leaf_data), bundle["leaf_index"], checkpoint.size, path, checkpoint.root)


__all__ = ["inclusion_bundle", "check_bundle", "RecordNotLogged", "Leaf", "parse_body"]
