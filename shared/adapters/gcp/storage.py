"""Evidence in Cloud Storage: create-only uploads under Locked object retention, holds, SHA-256.

Every object is uploaded with `ifGenerationMatch=0` (create-only: a second writer gets 412)
and with object retention `{"mode": "Locked", "retainUntilTime": ...}` in the same request,
so Google refuses to delete or overwrite it before that time and nobody can shorten it. The
bucket must be created with object retention enabled (`create_evidence_bucket`). A legal hold
is the object's temporary hold. The SHA-256 is stored in custom metadata and checked on every
read, on top of the CRC32C the client sends with the upload and checks on the download.

Locally the client talks to fake-gcs-server at `endpoint` (or STORAGE_EMULATOR_HOST), which honours the
create-only precondition but enforces neither retention nor holds (and drops temporaryHold):
`delete` therefore also checks retention and hold itself before asking the server.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Mapping

from google.api_core import exceptions as gexc
from google.cloud import storage
from google.cloud.storage.exceptions import DataCorruption

from shared.adapters.gcp.bucket_objects import WholeObjects
from shared.adapters.gcp.clients import storage_client
from shared.ports.evidence import (
    EvidenceConflict,
    EvidenceNotFound,
    EvidenceObject,
    RetentionLocked,
)
from shared.ports.evidence_rules import (
    RESERVED_METADATA_PREFIX,
    SHA256_METADATA,
    checked_retain_until,
    deletion_refusal,
    integrity_failure,
    same_or_conflict,
    sha256_hex,
    validate_key,
    validate_metadata,
)

log = logging.getLogger("sportsflow.evidence")

RETENTION_MODE = "Locked"
_NO_RETENTION = datetime(1970, 1, 1, tzinfo=timezone.utc)


def create_evidence_bucket(client: storage.Client, name: str, *, location: str = "US") -> storage.Bucket:
    """A bucket that accepts per-object retention (the flag can only be set at creation)."""
    return client.create_bucket(name, location=location, enable_object_retention=True)


class GcsEvidenceStore(WholeObjects):
    """EvidenceStore on a Cloud Storage bucket created with object retention enabled."""

    def __init__(self, bucket: str, *, project: str, client: storage.Client | None = None,
                 retention_floors: Mapping[str, timedelta] | None = None, endpoint: str | None = None) -> None:
        self.retention_floors = retention_floors  # None: evidence_rules.RETENTION_FLOORS
        self._owns_client = client is None
        self._client = client or storage_client(project, endpoint)
        self._bucket = self._client.bucket(bucket)

    def ensure_bucket(self, *, location: str = "US") -> None:
        """Create the bucket if absent (emulators; in production Terraform owns it)."""
        if not self._bucket.exists():
            try:
                create_evidence_bucket(self._client, self._bucket.name, location=location)
            except gexc.Conflict:
                pass  # created concurrently

    def put(self, key: str, data: bytes, *, retain_until: datetime,
            content_type: str = "application/json", metadata: Mapping[str, str] | None = None) -> EvidenceObject:
        sha256 = sha256_hex(data)
        blob = self._bucket.blob(validate_key(key))
        blob.metadata = {**validate_metadata(metadata), SHA256_METADATA: sha256}
        blob.retention.mode = RETENTION_MODE
        blob.retention.retain_until_time = checked_retain_until(key, retain_until, floors=self.retention_floors)
        try:
            # ifGenerationMatch=0 also makes the client's retry safe: a retried upload that had
            # in fact succeeded comes back 412 and is recognised below as the same bytes.
            blob.upload_from_string(data, content_type=content_type, if_generation_match=0, checksum="crc32c")
        except gexc.PreconditionFailed:
            return same_or_conflict(self.head(key), key, sha256)
        log.info("evidence stored", extra={"fields": {"key": key, "sha256": sha256, "size": len(data),
                                                      "generation": blob.generation}})
        return _to_object(blob)

    def get(self, key: str) -> bytes:
        blob = self._existing_blob(key)
        recorded = (blob.metadata or {}).get(SHA256_METADATA)
        if not recorded:
            raise integrity_failure(key, "no SHA-256 was recorded with it")
        try:
            data = blob.download_as_bytes(if_generation_match=blob.generation, checksum="auto")
        except DataCorruption as err:
            raise integrity_failure(key, f"download checksum mismatch: {err}") from err
        except (gexc.PreconditionFailed, gexc.NotFound) as err:
            raise integrity_failure(key, f"generation {blob.generation} was replaced while reading") from err
        actual = sha256_hex(data)
        if actual != recorded:
            raise integrity_failure(key, f"sha256 {actual} does not match the recorded {recorded}")
        return data

    def head(self, key: str) -> EvidenceObject | None:
        blob = self._bucket.get_blob(validate_key(key))
        return None if blob is None else _to_object(blob)

    def list(self, prefix: str = "") -> list[EvidenceObject]:
        blobs = self._client.list_blobs(self._bucket, prefix=prefix or None)
        return sorted((_to_object(blob) for blob in blobs), key=lambda obj: obj.key)

    def set_legal_hold(self, key: str, on: bool) -> None:
        blob = self._bucket.blob(validate_key(key))
        blob.temporary_hold = on
        try:
            blob.patch()
        except gexc.NotFound:
            raise EvidenceNotFound(key) from None
        log.info("legal hold changed", extra={"fields": {"key": key, "legal_hold": on}})

    def delete(self, key: str) -> None:
        blob = self._existing_blob(key)
        reason = deletion_refusal(_to_object(blob))
        if reason:
            raise RetentionLocked(f"delete refused: {reason}")
        try:
            blob.delete(if_generation_match=blob.generation)
        except gexc.Forbidden as err:
            if not _is_retention_refusal(err):
                raise
            raise RetentionLocked(f"delete refused by Cloud Storage: {err.message}") from err
        except gexc.PreconditionFailed as err:
            raise EvidenceConflict(f"{key!r} changed while being deleted") from err
        except gexc.NotFound:
            raise EvidenceNotFound(key) from None
        log.info("evidence deleted", extra={"fields": {"key": key, "generation": blob.generation}})

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _existing_blob(self, key: str) -> storage.Blob:
        blob = self._bucket.get_blob(validate_key(key))
        if blob is None:
            raise EvidenceNotFound(key)
        return blob


def _to_object(blob: storage.Blob) -> EvidenceObject:
    metadata = dict(blob.metadata or {})
    sha256 = metadata.pop(SHA256_METADATA, "")
    retain_until = blob.retention.retain_until_time or blob.retention_expiration_time or _NO_RETENTION
    return EvidenceObject(
        key=blob.name,
        sha256=sha256,
        size=int(blob.size or 0),
        content_type=blob.content_type or "",
        retain_until=retain_until,
        legal_hold=bool(blob.temporary_hold or blob.event_based_hold),
        created_at=blob.time_created,
        metadata={k: v for k, v in metadata.items() if not k.startswith(RESERVED_METADATA_PREFIX)},
    )


def _is_retention_refusal(err: gexc.Forbidden) -> bool:
    """Google's 403 for a retained or held object names retention or hold; IAM denials do not."""
    message = (err.message or "").lower()
    return "retention" in message or "hold" in message
