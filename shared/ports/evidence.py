"""Evidence store port: write-once objects with retention and integrity.

Objects are create-only. Putting the same bytes under an existing key is an idempotent
no-op (at-least-once friendly); different bytes raise EvidenceConflict. Reads verify the
SHA-256 recorded at write time. Nothing is deleted before `retain_until` or under legal hold,
and no `retain_until` is accepted below the record kind's floor (RetentionBelowFloor).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Protocol


class EvidenceError(Exception):
    """Base of evidence-store errors."""


class EvidenceConflict(EvidenceError):
    """A different object already exists under this key."""


class EvidenceNotFound(EvidenceError):
    pass


class RetentionLocked(EvidenceError):
    """Delete or overwrite refused: retention period not over, or legal hold on."""


class RetentionBelowFloor(EvidenceError, ValueError):
    """A retain-until earlier than the record kind's minimum (evidence_rules.RETENTION_FLOORS)."""


class IntegrityError(EvidenceError):
    """Stored bytes do not match the SHA-256 recorded at write time."""


@dataclass(frozen=True)
class EvidenceObject:
    key: str
    sha256: str
    size: int
    content_type: str
    retain_until: datetime
    legal_hold: bool
    created_at: datetime
    metadata: Mapping[str, str]


class EvidenceStore(Protocol):
    def put(self, key: str, data: bytes, *, retain_until: datetime,
            content_type: str = "application/json", metadata: Mapping[str, str] | None = None) -> EvidenceObject: ...

    def get(self, key: str) -> bytes:
        """The bytes, verified against the recorded SHA-256 (IntegrityError otherwise)."""

    def head(self, key: str) -> EvidenceObject | None: ...

    def list(self, prefix: str = "") -> list[EvidenceObject]: ...

    def set_legal_hold(self, key: str, on: bool) -> None: ...

    def delete(self, key: str) -> None:
        """Refused with RetentionLocked before retain_until or under legal hold."""

    def close(self) -> None: ...
