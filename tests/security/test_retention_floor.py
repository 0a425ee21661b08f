"""Observation 7 of issue #11: no evidence adapter accepts a retain-until below its record kind's
floor (so nothing can be written deletable at once), and the S3 Object Lock bucket has a default
COMPLIANCE retention (an object version written without its own lock is still locked)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.ports.evidence import RetentionLocked

# The floors this branch configures (shared/ports/evidence_rules.py RETENTION_FLOORS), spelled out so that
# the test runs, and fails, on code without them.
FLOORS = {"validation/": timedelta(days=365), "evidence-log/": timedelta(days=365),
          "models/": timedelta(days=365), "ingestion-reports/": timedelta(days=30)}


@pytest.fixture
def s3_client(monkeypatch):
    import boto3
    from moto import mock_aws

    # moto's in-process mock, never the suite's S3 emulator that an earlier emulator test exported
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path):
    if request.param == "file":
        from shared.adapters.local.evidence import FileEvidenceStore
        yield FileEvidenceStore(tmp_path / "evidence")
    else:
        from shared.adapters.aws.s3_object_lock import S3ObjectLockEvidenceStore, create_object_lock_bucket
        client = request.getfixturevalue("s3_client")
        create_object_lock_bucket(client, "evidence-floor")
        yield S3ObjectLockEvidenceStore("evidence-floor", client=client)


def _now():
    return datetime.now(timezone.utc)


def test_a_retain_until_in_the_past_is_refused_so_no_immediate_delete_is_possible(store):
    with pytest.raises(ValueError, match="too early"):
        store.put("decision.json", b"{}", retain_until=_now() - timedelta(days=1))
    assert store.head("decision.json") is None


@pytest.mark.parametrize("kind", sorted(FLOORS))
def test_each_record_kind_refuses_a_retention_below_its_floor(store, kind):
    key = f"{kind}2025-01-15/g1.json"
    floor = FLOORS[kind]
    with pytest.raises(ValueError, match=f"at least {floor.days} days"):
        store.put(key, b"{}", retain_until=_now() + floor - timedelta(days=1))
    stored = store.put(key, b"{}", retain_until=_now() + floor + timedelta(minutes=5))
    with pytest.raises(RetentionLocked):
        store.delete(key)
    assert stored.retain_until >= _now() + floor


def test_gcs_adapter_applies_the_same_floor_before_any_request():
    from unittest.mock import MagicMock

    from shared.adapters.gcp.storage import GcsEvidenceStore

    client = MagicMock()
    store = GcsEvidenceStore("evidence", project="p", client=client)
    with pytest.raises(ValueError, match="too early"):
        store.put("validation/decisions/x.json", b"{}", retain_until=_now() + timedelta(days=2))
    client.bucket.return_value.blob.return_value.upload_from_string.assert_not_called()


def test_the_configured_floors_are_these():
    from shared.ports.evidence_rules import RETENTION_FLOORS
    assert RETENTION_FLOORS == FLOORS


def test_the_longest_prefix_decides_the_kind():
    from shared.ports.evidence_rules import retention_floor
    floors = {"validation/": timedelta(days=10), "validation/payloads/": timedelta(days=20)}
    assert retention_floor("validation/payloads/a.json", floors) == ("validation/payloads/", timedelta(days=20))
    assert retention_floor("other/a.json", floors) == ("", timedelta(0))


def test_the_s3_bucket_has_a_default_compliance_retention_and_the_store_requires_it(s3_client):
    from shared.adapters.aws.s3_object_lock import S3ObjectLockEvidenceStore, create_object_lock_bucket
    from shared.ports.evidence import EvidenceError

    create_object_lock_bucket(s3_client, "evidence-default")
    rule = s3_client.get_object_lock_configuration(Bucket="evidence-default")["ObjectLockConfiguration"]["Rule"]
    assert rule["DefaultRetention"]["Mode"] == "COMPLIANCE" and rule["DefaultRetention"]["Days"] >= 1
    s3_client.put_object(Bucket="evidence-default", Key="unlocked.json", Body=b"{}")  # no lock of its own
    version = s3_client.head_object(Bucket="evidence-default", Key="unlocked.json")
    assert version["ObjectLockMode"] == "COMPLIANCE"

    s3_client.create_bucket(Bucket="evidence-no-default", ObjectLockEnabledForBucket=True)
    with pytest.raises(EvidenceError, match="default COMPLIANCE retention"):
        S3ObjectLockEvidenceStore("evidence-no-default", client=s3_client)
