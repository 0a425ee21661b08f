"""RFC 9162 tree hashing and proofs, and C2SP signed-note checkpoints."""
from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.evidence_log.checkpoint import Checkpoint, CheckpointError, LogSigner, Verifier, key_id, parse_body
from shared.evidence_log.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1, recursively."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def test_known_hashes() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    # RFC 6962's empty-leaf hash, as in every CT implementation's tests.
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=8), min_size=1, max_size=70))
def test_roots_and_every_proof_agree_with_the_rfc(leaves) -> None:
    tree = MerkleTree([leaf_hash(x) for x in leaves])
    n = len(leaves)
    assert tree.root() == reference_root(leaves)
    for m in range(n):
        verify_inclusion(leaf_hash(leaves[m]), m, n, tree.inclusion_proof(m), tree.root())
    for old in range(n + 1):
        assert tree.root(old) == reference_root(leaves[:old])
        verify_consistency(old, n, tree.root(old), tree.root(), tree.consistency_proof(old))


def test_wrong_proofs_fail() -> None:
    leaves = [bytes([i]) for i in range(13)]
    tree = MerkleTree([leaf_hash(x) for x in leaves])
    proof = tree.inclusion_proof(5)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"other"), 5, 13, proof, tree.root())
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(leaves[5]), 6, 13, proof, tree.root())
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(leaves[5]), 5, 13, proof[:-1], tree.root())
    forked = MerkleTree([leaf_hash(x) for x in leaves[:6] + [b"x"] + leaves[7:]])
    with pytest.raises(ProofError):
        verify_consistency(7, 13, forked.root(7), tree.root(), tree.consistency_proof(7))
    with pytest.raises(ProofError, match="same tree size"):
        verify_consistency(13, 13, forked.root(), tree.root(), [])


def test_checkpoints_are_c2sp_signed_notes() -> None:
    signer = LogSigner("example.com/log", Ed25519PrivateKey.generate())
    note = signer.sign(Checkpoint("example.com/log", 12, b"\x01" * 32))
    text, signature = note.split("\n\n")
    root = base64.b64encode(b"\x01" * 32).decode()
    assert text == f"example.com/log\n12\n{root}"
    assert signature.startswith("\u2014 example.com/log ") and signature.endswith("\n")
    stamp = base64.b64decode(signature.split(" ")[-1])
    assert stamp[:4] == key_id("example.com/log", signer.public_key) and len(stamp) == 68
    name, hash_hex, key = signer.verifier_key().split("+", 2)
    assert (name, len(hash_hex), base64.b64decode(key)[0]) == ("example.com/log", 8, 1)
    assert Verifier.parse(signer.verifier_key()).open(note) == Checkpoint("example.com/log", 12, b"\x01" * 32)
    assert parse_body(text + "\n").size == 12


def test_a_forged_or_foreign_checkpoint_is_refused() -> None:
    signer = LogSigner("example.com/log", Ed25519PrivateKey.generate())
    verifier = Verifier.parse(signer.verifier_key())
    note = signer.sign(Checkpoint("example.com/log", 12, b"\x01" * 32))
    with pytest.raises(CheckpointError, match="does not verify"):
        verifier.open(note.replace("\n12\n", "\n13\n"))
    impostor = LogSigner("example.com/log", Ed25519PrivateKey.generate())
    with pytest.raises(CheckpointError, match="no signature by"):
        verifier.open(impostor.sign(Checkpoint("example.com/log", 12, b"\x01" * 32)))
    with pytest.raises(CheckpointError):
        Verifier.parse("example.com/log+00000000+" + signer.verifier_key().split("+", 2)[2])
