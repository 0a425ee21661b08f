"""The requests GcsEvidenceStore sends carry retention, holds and create-only preconditions.

No local stand-in enforces Cloud Storage object retention or holds (fake-gcs-server stores
the retention field but enforces nothing, and drops temporaryHold), so these tests record the
HTTP requests on their way to fake-gcs-server and check what Google would be asked to enforce.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import Message
from email.parser import BytesParser
from typing import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from shared.adapters.gcp.storage import SHA256_METADATA, GcsEvidenceStore, create_evidence_bucket
from shared.ports.evidence import RetentionLocked

pytestmark = pytest.mark.emulator


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


@dataclass
class Sent:
    method: str
    url: str
    headers: dict
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.url).query).items()}

    def json(self) -> dict:
        return json.loads(self.body)

    def upload_parts(self) -> tuple[dict, Message]:
        """The object resource and the media part of a multipart/related upload."""
        message = BytesParser().parsebytes(
            b"Content-Type: " + _as_bytes(self.headers["content-type"]) + b"\r\n\r\n" + self.body)
        resource, media = message.get_payload()
        return json.loads(resource.get_payload(decode=True)), media


class RecordingSession(requests.Session):
    """A requests session that records every request and can answer one in place of the server."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []
        self.answer: Callable[[Sent], requests.Response | None] = lambda sent: None

    def request(self, method, url, data=None, headers=None, **kwargs):
        body = _as_bytes(data) if isinstance(data, (bytes, str)) else b""
        if "json" in kwargs and kwargs["json"] is not None:
            body = json.dumps(kwargs["json"]).encode()
        sent = Sent(method.upper(), url, {k.lower(): v for k, v in (headers or {}).items()}, body)
        self.sent.append(sent)
        answer = self.answer(sent)  # a Response is falsy when not ok: compare with None
        return answer if answer is not None else super().request(method, url, data=data, headers=headers, **kwargs)

    def matching(self, method: str, path_part: str) -> list[Sent]:
        return [s for s in self.sent if s.method == method and path_part in s.path]


@pytest.fixture
def recorded(emulators, unique_name: str):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    session = RecordingSession()
    project = os.environ.get("GOOGLE_CLOUD_PROJECT", "sportsflow-local")
    client = storage.Client(project=project, credentials=AnonymousCredentials(), _http=session)
    create_evidence_bucket(client, unique_name)
    store = GcsEvidenceStore(unique_name, project=project, client=client)
    yield store, session, unique_name, client
    session.close()


def _forbidden(sent: Sent, message: str) -> requests.Response:
    """Google's 403 JSON error, as if the server had answered `sent`."""
    response = requests.Response()
    response.request = requests.Request(sent.method, sent.url).prepare()
    response.status_code = 403
    response.headers["content-type"] = "application/json"
    response._content = json.dumps({"error": {"code": 403, "message": message}}).encode()
    return response


def test_bucket_is_created_with_object_retention_enabled(recorded) -> None:
    _, session, bucket, _ = recorded
    (create,) = session.matching("POST", "/b")
    assert create.query["enableObjectRetention"].lower() == "true"
    assert create.json()["name"] == bucket


def test_put_is_create_only_under_locked_retention_with_sha256(recorded) -> None:
    store, session, bucket, _ = recorded
    retain_until = datetime(2035, 1, 15, 12, 30, 0, 250_000, tzinfo=timezone.utc)
    stored = store.put("decisions/g1.json", b'{"result": "win"}', retain_until=retain_until,
                       metadata={"game-id": "g1"})

    (upload,) = session.matching("POST", f"/upload/storage/v1/b/{bucket}/o")
    assert upload.query["uploadType"] == "multipart"
    assert upload.query["ifGenerationMatch"] == "0"
    resource, media = upload.upload_parts()
    assert resource["name"] == "decisions/g1.json"
    assert resource["retention"]["mode"] == "Locked"
    # Rounded up to the whole second: never shorter than asked.
    assert datetime.fromisoformat(resource["retention"]["retainUntilTime"]) == retain_until.replace(
        microsecond=0) + timedelta(seconds=1)
    assert resource["metadata"] == {"game-id": "g1", SHA256_METADATA: stored.sha256}
    assert resource["crc32c"]  # the client sends CRC32C for the server to verify on receipt
    assert media.get_content_type() == "application/json"
    assert media.get_payload(decode=True) == b'{"result": "win"}'


def test_legal_hold_is_the_temporary_hold(recorded) -> None:
    store, session, bucket, _ = recorded
    store.put("decisions/g1.json", b"{}", retain_until=datetime.now(timezone.utc) + timedelta(days=1))

    store.set_legal_hold("decisions/g1.json", True)
    store.set_legal_hold("decisions/g1.json", False)

    patches = session.matching("PATCH", f"/b/{bucket}/o/")
    assert [p.json() for p in patches] == [{"temporaryHold": True}, {"temporaryHold": False}]


def test_get_reads_the_checked_generation(recorded) -> None:
    store, session, bucket, client = recorded
    store.put("decisions/g1.json", b"{}", retain_until=datetime.now(timezone.utc) + timedelta(days=1))
    generation = client.bucket(bucket).get_blob("decisions/g1.json").generation

    assert store.get("decisions/g1.json") == b"{}"
    (download,) = [s for s in session.matching("GET", f"/b/{bucket}/o/") if s.query.get("alt") == "media"]
    assert download.query["ifGenerationMatch"] == str(generation)


def test_delete_is_refused_locally_first_then_pinned_and_google_refusals_mapped(recorded) -> None:
    store, session, bucket, _ = recorded
    stored = store.put("decisions/g1.json", b"{}", retain_until=datetime.now(timezone.utc) + timedelta(seconds=1))
    with pytest.raises(RetentionLocked):
        store.delete("decisions/g1.json")
    assert session.matching("DELETE", "/o/") == []  # refused before asking the server

    time.sleep((stored.retain_until - datetime.now(timezone.utc)).total_seconds() + 0.1)
    # Google's own refusal (e.g. a hold fake-gcs dropped) surfaces as RetentionLocked.
    session.answer = lambda sent: _forbidden(
        sent, "Object 'decisions/g1.json' is under active Temporary hold and cannot be deleted, overwritten or "
        "archived until hold is removed.") if sent.method == "DELETE" else None
    with pytest.raises(RetentionLocked):
        store.delete("decisions/g1.json")

    session.answer = lambda sent: None
    store.delete("decisions/g1.json")
    deletes = session.matching("DELETE", f"/b/{bucket}/o/")
    generation = deletes[-1].query["ifGenerationMatch"]
    assert [d.query["ifGenerationMatch"] for d in deletes] == [generation, generation]
    assert store.head("decisions/g1.json") is None


def test_permission_denied_is_not_mistaken_for_retention(recorded) -> None:
    from google.api_core.exceptions import Forbidden

    store, session, _, _ = recorded
    stored = store.put("decisions/g1.json", b"{}", retain_until=datetime.now(timezone.utc) + timedelta(seconds=1))
    time.sleep((stored.retain_until - datetime.now(timezone.utc)).total_seconds() + 0.1)
    session.answer = lambda sent: _forbidden(
        sent, "caller does not have storage.objects.delete access") if sent.method == "DELETE" else None
    with pytest.raises(Forbidden):
        store.delete("decisions/g1.json")
