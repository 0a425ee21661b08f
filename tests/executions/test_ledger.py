"""The idempotency ledger: first apply, duplicate no-op reporting the original, checksum mismatch flagged."""
from __future__ import annotations

import pytest

from shared.adapters.local.documents import SqliteDocumentStore
from shared.executions.ledger import APPLIED, IdempotencyLedger, checksum_of, ingestion_key, settlement_key


@pytest.fixture
def ledger(tmp_path):
    documents = SqliteDocumentStore(tmp_path / "d.sqlite")
    yield IdempotencyLedger(documents)
    documents.close()


def test_keys_follow_the_contract():
    assert settlement_key("x1", "2025-08-15T21:00:00+00:00") == "settlement:x1:2025-08-15T21:00:00+00:00"
    assert ingestion_key("fixtures", "t1", "v3") == "ingestion:fixtures:t1:v3"


def test_first_claim_applies_then_replays_are_duplicates_naming_the_original(ledger):
    key, checksum = settlement_key("x1", "t"), checksum_of({"a": 1})
    first = ledger.claim(key, checksum, "exec-1")
    assert first.decision == "apply" and first.should_apply
    assert ledger.claim(key, checksum, "exec-2").decision == "resume"  # not finished yet: finish it
    ledger.mark_applied(key, {"members": 3})
    replay = ledger.claim(key, checksum, "exec-3")
    assert replay.decision == "duplicate" and not replay.should_apply
    assert replay.outcome.execution_id == "exec-1"
    assert replay.outcome.first_applied_at == first.outcome.first_applied_at
    stored = ledger.get(key)
    assert (stored.status, stored.checksum, stored.summary) == (APPLIED, checksum, {"members": 3})


def test_a_replay_with_a_different_effect_is_flagged_and_not_applied(ledger):
    key = settlement_key("x1", "t")
    ledger.claim(key, checksum_of({"a": 1}), "exec-1")
    ledger.mark_applied(key)
    flagged = ledger.claim(key, checksum_of({"a": 2}), "exec-2", detail={"why": "test"})
    assert flagged.decision == "mismatch" and not flagged.should_apply
    assert ledger.get(key).mismatches == 1 and ledger.get(key).checksum == checksum_of({"a": 1})
    (mismatch,) = ledger.mismatches(key)
    assert mismatch["execution_id"] == "exec-2" and mismatch["expected_checksum"] == checksum_of({"a": 1})


def test_checksum_is_canonical():
    assert checksum_of({"b": [1, 2], "a": 1}) == checksum_of({"a": 1, "b": [1, 2]})
    assert checksum_of({"a": 1}) != checksum_of({"a": 2})
