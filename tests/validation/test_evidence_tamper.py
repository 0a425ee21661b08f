"""Tamper evidence: change a byte, drop a record, reorder two, forge a checkpoint, fork the log —
`evidence verify` fails and names it; untouched it passes. Deleting or overwriting before the
retain-until date is refused (embedded store; S3 Object Lock under moto)."""
from __future__ import annotations

import os
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.evidence_log.checkpoint import Checkpoint, LogSigner
from shared.evidence_log.log import checkpoint_key, leaf_path
from shared.evidence_log.proof import check_bundle, inclusion_bundle
from shared.evidence_log.verify import verify_log
from shared.ports.evidence import EvidenceConflict, RetentionLocked
from shared.validation import records, system
from tests.validation.conftest import Harness


@pytest.fixture
def validated(tmp_path):
    with Harness(tmp_path) as harness:
        harness.poll()
        harness.log().checkpoint()
        yield harness


def verify(harness):
    return verify_log(harness.log(signing=False), system.trusted_verifier(None, harness.services))


def a_decision(harness) -> dict:
    return sorted(harness.decisions().values(), key=lambda d: d["decision_key"])[0]


def test_an_untouched_log_verifies(validated) -> None:
    report = verify(validated)
    assert report.ok, report.problems
    assert report.leaves == report.records_checked == validated.log().size() > 0


def test_one_changed_byte_is_named(validated) -> None:
    key = a_decision(validated)["evidence_key"]
    path = validated.evidence.data_path(key)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01
    path.write_bytes(bytes(data))
    report = verify(validated)
    assert not report.ok and any(key in p and "changed" in p for p in report.problems)


def test_a_dropped_record_is_named(validated) -> None:
    key = a_decision(validated)["evidence_key"]
    sidecar = validated.evidence.root / (key + "~meta.json")
    validated.evidence.data_path(key).unlink()
    sidecar.unlink()
    report = verify(validated)
    assert any(key in p and "dropped" in p for p in report.problems)


def test_a_dropped_leaf_is_named(validated) -> None:
    validated.documents.delete(leaf_path(3))
    report = verify(validated)
    assert any("position 3 says index 4" in p for p in report.problems)
    assert any("head says" in p for p in report.problems)


def test_two_reordered_leaves_are_named(validated) -> None:
    first, second = (validated.documents.get(leaf_path(i)).data for i in (2, 5))
    validated.documents.set(leaf_path(2), second)
    validated.documents.set(leaf_path(5), first)
    problems = verify(validated).problems
    assert any("position 2 says index 5" in p for p in problems)
    assert any("position 5 says index 2" in p for p in problems)


def test_a_rewritten_leaf_breaks_the_signed_root(validated) -> None:
    leaf = dict(validated.documents.get(leaf_path(4)).data)
    leaf["sha256"] = "0" * 64
    validated.documents.set(leaf_path(4), leaf)
    problems = verify(validated).problems
    assert any("signed root" in p for p in problems)
    assert any("record 4" in p for p in problems)


def test_a_forged_checkpoint_is_named(validated) -> None:
    impostor = LogSigner(system.signer(validated.services).name, Ed25519PrivateKey.generate())
    tree = validated.log().tree()
    forged = Checkpoint(impostor.name, tree.size, tree.root())
    validated.evidence.put(checkpoint_key(forged).replace(".note", "-x.note"), impostor.sign(forged).encode(),
                           retain_until=records.retain_until(date(2030, 1, 1)))
    problems = verify(validated).problems
    assert any("no signature by" in p for p in problems)
    # An altered body under the real signature fails the signature check.
    note = validated.log().latest_checkpoint_note()[1]
    altered = note.replace(f"\n{tree.size}\n", f"\n{tree.size - 1}\n")
    validated.evidence.put("evidence-log/checkpoints/000000000001-altered.note", altered.encode(),
                           retain_until=records.retain_until(date(2030, 1, 1)))
    assert any("does not verify" in p for p in verify(validated).problems)


def test_a_fork_is_named(validated) -> None:
    signer = system.signer(validated.services)  # even the log's own key cannot sign two histories
    size = validated.log().size()
    other = Checkpoint(signer.name, size, b"\x07" * 32)
    validated.evidence.put(checkpoint_key(other), signer.sign(other).encode(),
                           retain_until=records.retain_until(date(2030, 1, 1)))
    problems = verify(validated).problems
    assert any(p.startswith(f"fork: 2 signed checkpoints of size {size}") for p in problems)


def test_checkpoints_must_be_consistent_and_since_limits_the_work(validated) -> None:
    validated.servers.apply_corrections()  # nothing to correct: just a second batch of records
    key = "validation/overrides/manual/check.json"
    stored = validated.evidence.put(key, b"{}", retain_until=records.retain_until(date(2030, 1, 1)))
    validated.log().append_now(key, stored.sha256)
    validated.log().checkpoint()
    full = verify(validated)
    assert full.ok and full.checkpoints == 2
    since = verify_log(validated.log(signing=False), system.trusted_verifier(None, validated.services),
                       since=full.latest_checkpoint["size"] - 1)
    assert since.ok and since.records_checked == 1


def test_an_unlogged_evidence_record_is_named(validated) -> None:
    validated.evidence.put("validation/decisions/smuggled.json", b"{}",
                           retain_until=records.retain_until(date(2030, 1, 1)))
    assert any("smuggled.json is not in the log" in p for p in verify(validated).problems)


def test_an_inclusion_proof_checks_with_the_public_key_alone(validated) -> None:
    decision = a_decision(validated)
    bundle = inclusion_bundle(validated.log(signing=False), decision["evidence_key"])
    public = system.verifier_key(validated.services)
    record = validated.evidence.get(decision["evidence_key"])
    check_bundle(bundle, public, record)
    assert len(bundle["audit_path"]) <= validated.log().size().bit_length()
    with pytest.raises(ValueError):
        check_bundle(bundle, public, record + b" ")
    with pytest.raises(ValueError):
        check_bundle({**bundle, "leaf_index": bundle["leaf_index"] + 1}, public)
    impostor = LogSigner(system.signer(validated.services).name, Ed25519PrivateKey.generate())
    with pytest.raises(ValueError):
        check_bundle(bundle, impostor.verifier_key())


def test_the_embedded_store_refuses_delete_and_overwrite_before_retain_until(validated) -> None:
    key = a_decision(validated)["evidence_key"]
    with pytest.raises(RetentionLocked):
        validated.evidence.delete(key)
    with pytest.raises(EvidenceConflict):
        validated.evidence.put(key, b"{}", retain_until=records.retain_until(date(2030, 1, 1)))
    assert verify(validated).ok


def test_decisions_on_s3_object_lock_cannot_be_deleted_or_overwritten(tmp_path) -> None:
    import boto3
    from moto import mock_aws

    from shared.adapters.aws.s3_object_lock import S3ObjectLockEvidenceStore, create_object_lock_bucket
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        create_object_lock_bucket(client, "evidence")
        with Harness(tmp_path) as harness:
            harness.evidence = harness.services.__dict__["evidence"] = S3ObjectLockEvidenceStore("evidence",
                                                                                                 client=client)
            harness.poll()
            decision = a_decision(harness)
            head = client.head_object(Bucket="evidence", Key=decision["evidence_key"])
            assert head["ObjectLockMode"] == "COMPLIANCE"
            assert head["ObjectLockRetainUntilDate"].year == int(decision["game_date"][:4]) + 7
            with pytest.raises(RetentionLocked):
                harness.evidence.delete(decision["evidence_key"])
            with pytest.raises(EvidenceConflict):
                harness.evidence.put(decision["evidence_key"], b"{}",
                                     retain_until=records.retain_until(date(2030, 1, 1)))
            harness.log().checkpoint()
            assert verify(harness).ok
