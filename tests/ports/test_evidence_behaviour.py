"""One behaviour suite for every EvidenceStore adapter: files, Cloud Storage (fake-gcs-server), S3 Object Lock (moto).

What fake-gcs-server does not enforce (object retention, holds) is covered for GCS by
tests/adapters/test_gcs_retention_requests.py, which checks the requests we send. Here the
GCS retention tests exercise only the adapter's own pre-delete check; S3 (moto) and the file
store refuse deletes themselves, and `test_s3_object_lock_refuses_raw_delete` proves that
S3 refuses even a client that bypasses our adapter.
"""
from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest

from shared.adapters.local.evidence import FileEvidenceStore
from shared.ports.evidence import (
    EvidenceConflict,
    EvidenceNotFound,
    EvidenceStore,
    IntegrityError,
    RetentionLocked,
)

LONG_RETENTION = timedelta(days=1)


@dataclass
class Adapter:
    kind: str
    store: EvidenceStore
    tamper: Callable[[str, bytes], None]
    """Replace the stored bytes of a key behind the adapter's back, keeping its recorded SHA-256."""
    raw: object = None
    bucket: str = ""


def _file_adapter(tmp_path: Path) -> Adapter:
    store = FileEvidenceStore(tmp_path / "evidence")

    def tamper(key: str, data: bytes) -> None:
        path = store.data_path(key)
        path.chmod(0o644)
        path.write_bytes(data)

    return Adapter("file", store, tamper)


def _gcs_adapter(request: pytest.FixtureRequest, bucket: str) -> Adapter:
    request.getfixturevalue("emulators")
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from shared.adapters.gcp.storage import GcsEvidenceStore, create_evidence_bucket

    project = os.environ.get("GOOGLE_CLOUD_PROJECT", "sportsflow-local")
    client = storage.Client(project=project, credentials=AnonymousCredentials())
    create_evidence_bucket(client, bucket)

    def tamper(key: str, data: bytes) -> None:
        original = client.bucket(bucket).get_blob(key)
        forged = client.bucket(bucket).blob(key)
        forged.metadata = original.metadata
        forged.upload_from_string(data)  # fake-gcs enforces no retention: the overwrite succeeds

    return Adapter("gcs", GcsEvidenceStore(bucket, project=project, client=client), tamper, client, bucket)


@pytest.fixture(scope="module")
def s3_client():
    """One S3 client per module: the moto server at AWS_ENDPOINT_URL_S3, else moto in-process."""
    import boto3

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3")
    with ExitStack() as stack:
        if not endpoint:
            from moto import mock_aws

            stack.enter_context(mock_aws())  # supplies fake credentials; lets other http through
        yield boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)


def _s3_adapter(client, bucket: str) -> Adapter:
    from shared.adapters.aws.s3_object_lock import S3ObjectLockEvidenceStore, create_object_lock_bucket

    create_object_lock_bucket(client, bucket)

    def tamper(key: str, data: bytes) -> None:
        # Object Lock protects versions, not keys: a new version on top is allowed.
        metadata = client.head_object(Bucket=bucket, Key=key)["Metadata"]
        client.put_object(Bucket=bucket, Key=key, Body=data, Metadata=metadata)

    return Adapter("s3", S3ObjectLockEvidenceStore(bucket, client=client), tamper, client, bucket)


@pytest.fixture(params=["file", pytest.param("gcs", marks=pytest.mark.emulator), "s3"])
def adapter(request: pytest.FixtureRequest, tmp_path: Path, unique_name: str):
    if request.param == "file":
        built = _file_adapter(tmp_path)
    elif request.param == "gcs":
        built = _gcs_adapter(request, unique_name)
    else:
        built = _s3_adapter(request.getfixturevalue("s3_client"), unique_name)
    yield built
    built.store.close()


def _later(delta: timedelta = LONG_RETENTION) -> datetime:
    return datetime.now(timezone.utc) + delta


def _wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(timezone.utc)).total_seconds()) + 0.1)


def test_put_get_head_list_round_trip(adapter: Adapter) -> None:
    store = adapter.store
    stored = store.put("games/2025-01-15/g1.json", b'{"home": 5}', retain_until=_later(),
                       metadata={"game-id": "g1"})
    store.put("games/2025-01-16/g2.json", b'{"home": 2}', retain_until=_later())
    store.put("other/g3.json", b"{}", retain_until=_later(), content_type="text/plain")

    assert store.get("games/2025-01-15/g1.json") == b'{"home": 5}'
    assert store.head("games/2025-01-15/g1.json") == stored
    assert stored.sha256 == hashlib.sha256(b'{"home": 5}').hexdigest()
    assert (stored.size, stored.content_type, stored.legal_hold) == (11, "application/json", False)
    assert stored.metadata == {"game-id": "g1"}
    assert stored.retain_until > datetime.now(timezone.utc) + LONG_RETENTION - timedelta(minutes=1)
    assert abs(stored.created_at - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert [o.key for o in store.list("games/")] == ["games/2025-01-15/g1.json", "games/2025-01-16/g2.json"]
    assert [o.key for o in store.list("games/2025-01-1")] == ["games/2025-01-15/g1.json",
                                                              "games/2025-01-16/g2.json"]
    assert [o.key for o in store.list()] == ["games/2025-01-15/g1.json", "games/2025-01-16/g2.json",
                                             "other/g3.json"]
    assert store.list("nothing/") == []


def test_recorded_sha256_is_the_sha256_of_the_bytes(adapter: Adapter) -> None:
    stored = adapter.store.put("k.json", b"abc", retain_until=_later())
    assert stored.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_missing_key(adapter: Adapter) -> None:
    store = adapter.store
    assert store.head("absent.json") is None
    with pytest.raises(EvidenceNotFound):
        store.get("absent.json")
    with pytest.raises(EvidenceNotFound):
        store.delete("absent.json")
    with pytest.raises(EvidenceNotFound):
        store.set_legal_hold("absent.json", True)


def test_different_bytes_under_existing_key_conflict(adapter: Adapter) -> None:
    adapter.store.put("decision.json", b'{"result": "win"}', retain_until=_later())
    with pytest.raises(EvidenceConflict):
        adapter.store.put("decision.json", b'{"result": "loss"}', retain_until=_later())
    assert adapter.store.get("decision.json") == b'{"result": "win"}'


def test_identical_reput_returns_the_existing_object(adapter: Adapter) -> None:
    first = adapter.store.put("decision.json", b'{"result": "win"}', retain_until=_later())
    again = adapter.store.put("decision.json", b'{"result": "win"}', retain_until=_later(timedelta(days=2)))
    assert again == first  # the original retention stands
    assert [o.key for o in adapter.store.list()] == ["decision.json"]


def test_tampered_bytes_fail_the_integrity_check(adapter: Adapter) -> None:
    adapter.store.put("decision.json", b'{"result": "win"}', retain_until=_later())
    adapter.tamper("decision.json", b'{"result": "LOSS"}')
    with pytest.raises(IntegrityError):
        adapter.store.get("decision.json")


def test_delete_refused_before_retain_until_then_allowed(adapter: Adapter) -> None:
    # GCS on fake-gcs-server: only the adapter's own check is exercised here (see module docstring).
    stored = adapter.store.put("decision.json", b"{}", retain_until=_later(timedelta(seconds=1)))
    with pytest.raises(RetentionLocked):
        adapter.store.delete("decision.json")
    assert adapter.store.get("decision.json") == b"{}"

    _wait_until(stored.retain_until)
    adapter.store.delete("decision.json")
    assert adapter.store.head("decision.json") is None
    assert adapter.store.list() == []


def test_legal_hold_blocks_delete_after_retention_until_released(adapter: Adapter) -> None:
    if adapter.kind == "gcs":
        pytest.skip("fake-gcs-server drops temporaryHold; the hold request is checked in "
                    "tests/adapters/test_gcs_retention_requests.py")
    stored = adapter.store.put("decision.json", b"{}", retain_until=_later(timedelta(seconds=1)))
    adapter.store.set_legal_hold("decision.json", True)
    assert adapter.store.head("decision.json").legal_hold is True

    _wait_until(stored.retain_until)
    with pytest.raises(RetentionLocked):
        adapter.store.delete("decision.json")

    adapter.store.set_legal_hold("decision.json", False)
    assert adapter.store.head("decision.json").legal_hold is False
    adapter.store.delete("decision.json")
    assert adapter.store.head("decision.json") is None


def test_concurrent_writers_of_different_bytes_exactly_one_wins(adapter: Adapter) -> None:
    start = threading.Barrier(8)
    won: list[bytes] = []
    conflicts: list[EvidenceConflict] = []

    def write(n: int) -> None:
        data = f'{{"writer": {n}}}'.encode()
        start.wait()
        try:
            adapter.store.put("race.json", data, retain_until=_later())
            won.append(data)
        except EvidenceConflict as err:
            conflicts.append(err)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(won) == 1 and len(conflicts) == 7
    assert adapter.store.get("race.json") == won[0]


@pytest.mark.parametrize("key", ["../escape.json", "/absolute.json", "a//b.json", "a/./b.json", "a/../b.json",
                                 "", "trailing/", ".hidden", "a~b"])
def test_invalid_keys_are_refused(adapter: Adapter, key: str) -> None:
    with pytest.raises(ValueError):
        adapter.store.put(key, b"{}", retain_until=_later())
    assert adapter.store.list() == []


def test_naive_retain_until_and_reserved_metadata_are_refused(adapter: Adapter) -> None:
    with pytest.raises(ValueError):
        adapter.store.put("k.json", b"{}", retain_until=datetime.now() + LONG_RETENTION)
    with pytest.raises(ValueError):
        adapter.store.put("k.json", b"{}", retain_until=_later(), metadata={"sportsflow-sha256": "forged"})
    with pytest.raises(ValueError):
        adapter.store.put("k.json", b"{}", retain_until=_later(), metadata={"Upper": "x"})
    assert adapter.store.head("k.json") is None


@pytest.mark.parametrize("adapter", ["s3"], indirect=True)
def test_s3_object_lock_refuses_raw_delete(adapter: Adapter) -> None:
    """Real WORM: S3 (moto) itself refuses deleting the locked version, whatever client asks.

    Server-enforced retention is provable locally only here; for GCS see the request test.
    """
    from botocore.exceptions import ClientError

    adapter.store.put("decision.json", b"{}", retain_until=_later())
    head = adapter.raw.head_object(Bucket=adapter.bucket, Key="decision.json")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    with pytest.raises(ClientError) as refused:
        adapter.raw.delete_object(Bucket=adapter.bucket, Key="decision.json", VersionId=head["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert adapter.store.get("decision.json") == b"{}"


@pytest.mark.parametrize("adapter", ["file"], indirect=True)
def test_file_store_writes_read_only_files_and_leaves_no_debris(adapter: Adapter) -> None:
    adapter.store.put("decisions/g1.json", b"{}", retain_until=_later())
    with pytest.raises(EvidenceConflict):
        adapter.store.put("decisions/g1.json", b"[]", retain_until=_later())
    adapter.store.put("decisions/g1.json", b"{}", retain_until=_later())

    data = adapter.store.data_path("decisions/g1.json")
    files = sorted(p.name for p in data.parent.iterdir())
    assert files == sorted([data.name, "g1.json~meta.json"])  # the losers removed what they wrote
    assert all(stat.S_IMODE((data.parent / name).stat().st_mode) == 0o444 for name in files)
