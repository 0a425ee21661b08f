"""Whole objects of a Cloud Storage bucket (bytes, content type, custom metadata, retention) for
backups: read every one, write one back create-only. The evidence and raw stores use it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator

from google.cloud import storage


@dataclass(frozen=True)
class StoredObject:
    name: str
    data: bytes
    content_type: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    retention_mode: str | None = None
    retain_until: datetime | None = None

    def properties(self) -> dict:
        """Everything but the bytes, as JSON (the backup keeps it beside them)."""
        return {"content_type": self.content_type, "metadata": self.metadata, "retention_mode": self.retention_mode,
                "retain_until": self.retain_until.isoformat() if self.retain_until else None}

    @classmethod
    def from_properties(cls, name: str, data: bytes, properties: dict) -> "StoredObject":
        until = properties.get("retain_until")
        return cls(name, data, properties.get("content_type") or "", dict(properties.get("metadata") or {}),
                   properties.get("retention_mode"), datetime.fromisoformat(until) if until else None)


def read_objects(client: storage.Client, bucket: storage.Bucket) -> Iterator[StoredObject]:
    """Every object of the bucket, by name; its bytes read at the listed generation."""
    for blob in client.list_blobs(bucket):
        data = blob.download_as_bytes(if_generation_match=blob.generation, checksum="auto")
        yield StoredObject(blob.name, data, blob.content_type or "", dict(blob.metadata or {}),
                           blob.retention.mode, blob.retention.retain_until_time)


def write_object(bucket: storage.Bucket, stored: StoredObject) -> None:
    """Create the object (412 if it exists: a restore never overwrites) with its properties."""
    blob = bucket.blob(stored.name)
    blob.metadata = stored.metadata or None
    if stored.retain_until is not None:
        blob.retention.mode = stored.retention_mode
        blob.retention.retain_until_time = stored.retain_until
    blob.upload_from_string(stored.data, content_type=stored.content_type or None, if_generation_match=0,
                            checksum="crc32c")


def is_empty(client: storage.Client, bucket: storage.Bucket) -> bool:
    """No object (a missing bucket is empty)."""
    if not bucket.exists():
        return True
    return next(iter(client.list_blobs(bucket, max_results=1)), None) is None


class WholeObjects:
    """The backup side of a bucket store (`sportsflow backup` on the emulators), for a store that keeps
    its client in `_client` and its bucket in `_bucket`: whole objects, properties included."""

    _client: storage.Client
    _bucket: storage.Bucket

    def all_objects(self) -> Iterator[StoredObject]:
        return read_objects(self._client, self._bucket)

    def restore_object(self, stored: StoredObject) -> None:
        write_object(self._bucket, stored)

    def is_empty(self) -> bool:
        return is_empty(self._client, self._bucket)
