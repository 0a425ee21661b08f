"""Raw payload store port: the provider payloads Phase 1 fetched, in the raw bucket (SPEC §1).

Not evidence: raw payloads live as long as the raw bucket's lifecycle says (infra/storage.tf,
var.raw_lifecycle), never under the evidence bucket's locked retention. Objects are
content-addressed and create-only: a key ends in the SHA-256 of its bytes (`.../<sha256>.json`),
a put under an existing key with the same bytes is a no-op, and nothing here deletes or
overwrites (only the bucket's lifecycle deletes). Reads verify the bytes against the key.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class RawPayloadError(Exception):
    """Base of raw-store errors."""


class RawPayloadNotFound(RawPayloadError):
    pass


class RawPayloadCorrupt(RawPayloadError):
    """The stored bytes are not the ones the key's SHA-256 names."""


@dataclass(frozen=True)
class RawObject:
    key: str
    sha256: str
    size: int
    created_at: datetime


class RawPayloadStore(Protocol):
    def put(self, key: str, data: bytes) -> RawObject:
        """Create-only; ValueError when the key does not end in the SHA-256 of `data`."""

    def get(self, key: str) -> bytes:
        """The bytes, verified against the key's SHA-256 (RawPayloadCorrupt otherwise)."""

    def head(self, key: str) -> RawObject | None: ...

    def list(self, prefix: str = "") -> list[RawObject]: ...

    def close(self) -> None: ...
