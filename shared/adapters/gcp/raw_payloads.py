"""RawPayloadStore on the raw Cloud Storage bucket (infra/storage.tf `raw`): create-only uploads
(`ifGenerationMatch=0`), no retention (the bucket's lifecycle deletes), reads verified against
the SHA-256 the key names. Locally the client talks to fake-gcs-server at `endpoint` (or
STORAGE_EMULATOR_HOST)."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from google.api_core import exceptions as gexc
from google.cloud import storage

from shared.adapters.gcp.bucket_objects import WholeObjects
from shared.adapters.gcp.clients import storage_client
from shared.ports.raw_payload_rules import checked_put, checked_read, content_sha256
from shared.ports.raw_payloads import RawObject, RawPayloadNotFound

log = logging.getLogger("sportsflow.raw_payloads")


class GcsRawPayloadStore(WholeObjects):
    def __init__(self, bucket: str, *, project: str, client: storage.Client | None = None,
                 endpoint: str | None = None) -> None:
        self._owns_client = client is None
        self._client = client or storage_client(project, endpoint)
        self._bucket = self._client.bucket(bucket)

    def ensure_bucket(self, *, location: str = "US") -> None:
        """Emulator runs: create the bucket if missing (on gcp, Terraform creates it)."""
        if not self._bucket.exists():
            self._client.create_bucket(self._bucket.name, location=location)

    def put(self, key: str, data: bytes) -> RawObject:
        sha256 = checked_put(key, data)
        blob = self._bucket.blob(key)
        try:
            blob.upload_from_string(data, content_type="application/json", if_generation_match=0)
        except gexc.PreconditionFailed:
            # Content-addressed: already stored with these bytes. Not read back: a writer holds
            # objectCreator only (infra/function_iam.tf), so "when" is this attempt's moment.
            return RawObject(key, sha256, len(data), datetime.now(timezone.utc))
        log.info("raw payload stored", extra={"fields": {"key": key, "sha256": sha256, "size": len(data)}})
        return _to_object(blob)

    def get(self, key: str) -> bytes:
        content_sha256(key)
        try:
            return checked_read(key, self._bucket.blob(key).download_as_bytes())
        except gexc.NotFound:
            raise RawPayloadNotFound(f"no raw payload {key!r} in bucket {self._bucket.name}") from None

    def head(self, key: str) -> RawObject | None:
        content_sha256(key)
        blob = self._bucket.get_blob(key)
        return _to_object(blob) if blob is not None else None

    def list(self, prefix: str = "") -> list[RawObject]:
        return [_to_object(blob) for blob in self._client.list_blobs(self._bucket, prefix=prefix)]

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def _to_object(blob: storage.Blob) -> RawObject:
    return RawObject(key=blob.name, sha256=content_sha256(blob.name), size=blob.size or 0,
                     created_at=blob.time_created)
