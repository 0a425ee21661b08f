"""The evidence port's input and retention rules, shared by every evidence adapter so all
of them accept and refuse the same keys, metadata and retention, and report integrity
failures the same way (SPEC §2 alerts on any)."""
from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Mapping

from shared.ports.evidence import EvidenceConflict, EvidenceObject, IntegrityError, RetentionBelowFloor

log = logging.getLogger("sportsflow.evidence")

# Portable across filesystems, GCS and S3: path-like segments, no `.`/`..`, nothing starting
# with `.` (temp files) and no `~` (reserved for the local layout's suffixes).
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9_=-][A-Za-z0-9._=-]*")
MAX_KEY_LENGTH = 1024
MAX_SEGMENT_LENGTH = 255  # a file name's limit on every filesystem the local adapters run on
# S3 lower-cases user metadata keys and sends values as HTTP headers (US-ASCII, 2 KB in total).
_METADATA_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_METADATA_VALUE = re.compile(r"[\x20-\x7e]*")
MAX_METADATA_BYTES = 2048
RESERVED_METADATA_PREFIX = "sportsflow-"
# Where cloud adapters keep the SHA-256 recorded at write time, beside the caller's metadata.
SHA256_METADATA = RESERVED_METADATA_PREFIX + "sha256"


def validate_key(key: str) -> str:
    """The key unchanged, or ValueError saying why it cannot be an evidence key."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"evidence key must be 1..{MAX_KEY_LENGTH} characters: {key[:300]!r}")
    bad = [segment[:40] for segment in key.split("/")
           if len(segment) > MAX_SEGMENT_LENGTH or not _KEY_SEGMENT.fullmatch(segment)]
    if bad:
        raise ValueError(f"evidence key {key[:300]!r} has invalid segment(s) {bad}: use [A-Za-z0-9._=-], "
                         f"at most {MAX_SEGMENT_LENGTH} characters, no leading '/' or '.', no empty, '.' or '..' "
                         f"segments")
    return key


def validate_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """A plain copy of the caller's metadata, or ValueError naming the offending entry."""
    values = dict(metadata or {})
    for name, value in values.items():
        if not isinstance(name, str) or not _METADATA_KEY.fullmatch(name):
            raise ValueError(f"metadata key {name!r}: use lower-case [a-z0-9-], at most 64 characters")
        if name.startswith(RESERVED_METADATA_PREFIX):
            raise ValueError(f"metadata key {name!r}: the prefix {RESERVED_METADATA_PREFIX!r} is reserved")
        if not isinstance(value, str) or not _METADATA_VALUE.fullmatch(value):
            raise ValueError(f"metadata value of {name!r} must be printable ASCII text")
    if sum(len(k) + len(v) for k, v in values.items()) > MAX_METADATA_BYTES - 256:
        raise ValueError(f"metadata exceeds {MAX_METADATA_BYTES - 256} bytes")
    return values


def normalize_retain_until(retain_until: datetime) -> datetime:
    """UTC, rounded up to whole seconds (S3's precision): retention is never shorter than asked."""
    if retain_until.tzinfo is None or retain_until.utcoffset() is None:
        raise ValueError("retain_until must be timezone-aware (e.g. datetime.now(timezone.utc) + ...)")
    utc = retain_until.astimezone(timezone.utc)
    whole = utc.replace(microsecond=0)
    return whole if whole == utc else whole + timedelta(seconds=1)


# The shortest retention each record kind (its key prefix) may be stored with, from the moment
# of writing. A key of no listed kind still needs a retain-until in the future.
RETENTION_FLOORS: dict[str, timedelta] = {
    "validation/": timedelta(days=365),
    "evidence-log/": timedelta(days=365),
    "models/": timedelta(days=365),
    "ingestion-reports/": timedelta(days=30),
}


def retention_floor(key: str, floors: Mapping[str, timedelta] | None = None) -> tuple[str, timedelta]:
    """(record kind, minimum retention) of `key`: its longest matching prefix in `floors`."""
    floors = RETENTION_FLOORS if floors is None else floors
    kind = max((prefix for prefix in floors if key.startswith(prefix)), key=len, default="")
    return kind, floors.get(kind, timedelta(0))


def checked_retain_until(key: str, retain_until: datetime, *, floors: Mapping[str, timedelta] | None = None,
                         now: datetime | None = None) -> datetime:
    """`normalize_retain_until`, refused (RetentionBelowFloor) when earlier than the key's
    record kind allows: no evidence may be written that could be deleted at once."""
    normalized = normalize_retain_until(retain_until)
    kind, floor = retention_floor(key, floors)
    earliest = (now or datetime.now(timezone.utc)) + floor
    if normalized < earliest:
        what = f"{kind!r} records must be retained at least {floor.days} days" if kind else \
            "evidence must be retained until a moment in the future"
        raise RetentionBelowFloor(f"retain_until {normalized.isoformat()} for {key[:200]!r} is too early: {what} "
                                  f"(until {earliest.replace(microsecond=0).isoformat()} or later)")
    return normalized


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def deletion_refusal(obj: EvidenceObject, now: datetime | None = None) -> str | None:
    """Why `obj` may not be deleted now, or None when it may."""
    now = now or datetime.now(timezone.utc)
    if obj.legal_hold:
        return f"{obj.key!r} is under legal hold"
    if now < obj.retain_until:
        return f"{obj.key!r} is retained until {obj.retain_until.isoformat()}"
    return None


def same_or_conflict(existing: EvidenceObject | None, key: str, sha256: str) -> EvidenceObject:
    """The existing object when it holds the same bytes (idempotent put), else EvidenceConflict."""
    if existing is None:
        raise EvidenceConflict(f"{key!r} was taken by a concurrent writer that is not visible yet")
    if existing.sha256 != sha256:
        raise EvidenceConflict(f"{key!r} already holds different bytes (sha256 {existing.sha256})")
    return existing


def integrity_failure(key: str, detail: str) -> IntegrityError:
    """The IntegrityError for `key`, logged at ERROR (SPEC alerts on any evidence integrity failure)."""
    log.error("evidence integrity failure", extra={"fields": {"key": key, "detail": detail}})
    return IntegrityError(f"{key!r}: {detail}")
