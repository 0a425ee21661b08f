"""Evidence on the local filesystem: write-once files, a SHA-256 sidecar, retention and legal hold.

Layout under `root`, for the key `validation/2025-01-15/g1.json`:

    validation/2025-01-15/g1.json~<id>              the bytes (read-only)
    validation/2025-01-15/g1.json~meta.json         the sidecar (read-only): sha256, size, content_type,
                                                    retain_until, created_at, metadata, data file name
    validation/2025-01-15/g1.json~<id>.legal-hold   present while a legal hold is on

The sidecar is the commit point: it is linked into place with os.link, which fails when the
name exists, so of two racing writers exactly one wins. Each writer writes its bytes to its own
`~<id>` file before committing, so a committed object always has its bytes and a loser removes
only what it wrote. Read-only files stop accidental edits, not a determined local user: the
SHA-256 check on every read is what makes tampering evident.

The key, metadata and retention rules below are shared by every evidence adapter, so all of
them accept and refuse the same inputs.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import os
import re
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, Mapping

from shared.ports.evidence import (
    EvidenceConflict,
    EvidenceNotFound,
    EvidenceObject,
    IntegrityError,
    RetentionLocked,
)

log = logging.getLogger("sportsflow.evidence")

# Portable across filesystems, GCS and S3: path-like segments, no `.`/`..`, nothing starting
# with `.` (temp files) and no `~` (reserved for the local layout's suffixes).
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9_=-][A-Za-z0-9._=-]*")
MAX_KEY_LENGTH = 1024
# S3 lower-cases user metadata keys and sends values as HTTP headers (US-ASCII, 2 KB in total).
_METADATA_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_METADATA_VALUE = re.compile(r"[\x20-\x7e]*")
MAX_METADATA_BYTES = 2048
RESERVED_METADATA_PREFIX = "sportsflow-"

_SIDECAR_SUFFIX = "~meta.json"
_HOLD_SUFFIX = ".legal-hold"
_READ_ONLY = 0o444


def validate_key(key: str) -> str:
    """The key unchanged, or ValueError saying why it cannot be an evidence key."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"evidence key must be 1..{MAX_KEY_LENGTH} characters: {key!r}")
    bad = [segment for segment in key.split("/") if not _KEY_SEGMENT.fullmatch(segment)]
    if bad:
        raise ValueError(f"evidence key {key!r} has invalid segment(s) {bad}: use [A-Za-z0-9._=-], "
                         f"no leading '/' or '.', no empty, '.' or '..' segments")
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


class FileEvidenceStore:
    """EvidenceStore on a local directory (see the module docstring for the layout)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, key: str, data: bytes, *, retain_until: datetime,
            content_type: str = "application/json", metadata: Mapping[str, str] | None = None) -> EvidenceObject:
        sidecar = self._sidecar_path(validate_key(key))
        record = {
            "key": key,
            "sha256": sha256_hex(data),
            "size": len(data),
            "content_type": content_type,
            "retain_until": normalize_retain_until(retain_until).isoformat(),
            "created_at": datetime.now(timezone.utc).isoformat(),
            "metadata": validate_metadata(metadata),
            "data_file": f"{sidecar.name.removesuffix(_SIDECAR_SUFFIX)}~{uuid.uuid4().hex}",
        }
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        data_path = sidecar.with_name(record["data_file"])
        _write_new_file(data_path, data)
        try:
            _commit_exclusive(sidecar, json.dumps(record, sort_keys=True).encode())
        except FileExistsError:
            data_path.unlink()
            return same_or_conflict(self.head(key), key, record["sha256"])
        except BaseException:
            data_path.unlink(missing_ok=True)
            raise
        log.info("evidence stored", extra={"fields": {"key": key, "sha256": record["sha256"], "size": len(data)}})
        return _to_object(record, legal_hold=False)

    def get(self, key: str) -> bytes:
        record = self._read_sidecar(key)
        data_path = self._sidecar_path(key).with_name(record["data_file"])
        try:
            data = data_path.read_bytes()
        except FileNotFoundError:
            raise integrity_failure(key, "its bytes are missing") from None
        actual = sha256_hex(data)
        if actual != record["sha256"] or len(data) != record["size"]:
            raise integrity_failure(key, f"sha256 {actual} ({len(data)} bytes) does not match "
                                         f"the recorded {record['sha256']} ({record['size']} bytes)")
        return data

    def head(self, key: str) -> EvidenceObject | None:
        try:
            record = self._read_sidecar(key)
        except EvidenceNotFound:
            return None
        return _to_object(record, legal_hold=self._hold_path(key, record).exists())

    def list(self, prefix: str = "") -> list[EvidenceObject]:
        # Start at the deepest directory the prefix names, then filter on the full key.
        directory = self.root.joinpath(*prefix.split("/")[:-1]) if "/" in prefix else self.root
        if not directory.is_dir() or not directory.resolve().is_relative_to(self.root):
            return []
        keys = sorted(str(path.relative_to(self.root)).removesuffix(_SIDECAR_SUFFIX)
                      for path in directory.rglob(f"*{_SIDECAR_SUFFIX}"))
        found = (self.head(key) for key in keys if key.startswith(prefix))
        return [obj for obj in found if obj is not None]

    def set_legal_hold(self, key: str, on: bool) -> None:
        with self._locked_sidecar(key) as record:
            hold = self._hold_path(key, record)
            if on:
                hold.touch(mode=_READ_ONLY, exist_ok=True)
            else:
                hold.unlink(missing_ok=True)
        log.info("legal hold changed", extra={"fields": {"key": key, "legal_hold": on}})

    def delete(self, key: str) -> None:
        with self._locked_sidecar(key) as record:
            reason = deletion_refusal(_to_object(record, legal_hold=self._hold_path(key, record).exists()))
            if reason:
                raise RetentionLocked(f"delete refused: {reason}")
            sidecar = self._sidecar_path(key)
            sidecar.unlink()  # uncommit first: a crash below leaves an orphan file, never a broken object
            sidecar.with_name(record["data_file"]).unlink(missing_ok=True)
        log.info("evidence deleted", extra={"fields": {"key": key}})

    def close(self) -> None:
        """Nothing to release: every call opens and closes its own files."""

    def data_path(self, key: str) -> Path:
        """Where the bytes of `key` live on disk (for operators and tamper tests)."""
        return self._sidecar_path(key).with_name(self._read_sidecar(key)["data_file"])

    def _sidecar_path(self, key: str) -> Path:
        return self.root / (validate_key(key) + _SIDECAR_SUFFIX)

    def _hold_path(self, key: str, record: dict) -> Path:
        # Named after this object's data file, so a stale marker never applies to a later object.
        return self._sidecar_path(key).with_name(record["data_file"] + _HOLD_SUFFIX)

    def _read_sidecar(self, key: str) -> dict:
        try:
            raw = self._sidecar_path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise EvidenceNotFound(key) from None
        try:
            return json.loads(raw)
        except ValueError:
            raise integrity_failure(key, "its sidecar is not valid JSON") from None

    @contextmanager
    def _locked_sidecar(self, key: str) -> Iterator[dict]:
        """The sidecar's record, with an exclusive lock that serialises holds and deletes of `key`."""
        path = self._sidecar_path(key)
        try:
            fd = os.open(path, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            raise EvidenceNotFound(key) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # Deleted while we waited for the lock: the name is gone or names a newer object.
            if not path.exists() or os.stat(path).st_ino != os.fstat(fd).st_ino:
                raise EvidenceNotFound(key)
            yield self._read_sidecar(key)
        finally:
            os.close(fd)


def _write_new_file(path: Path, data: bytes) -> None:
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _READ_ONLY), "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _commit_exclusive(path: Path, content: bytes) -> None:
    """Write `content` to `path` atomically and only if `path` does not exist (FileExistsError)."""
    temp = path.with_name(f".{uuid.uuid4().hex}.tmp")
    _write_new_file(temp, content)
    try:
        os.link(temp, path)
    finally:
        temp.unlink()
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _to_object(record: dict, *, legal_hold: bool) -> EvidenceObject:
    return EvidenceObject(
        key=record["key"],
        sha256=record["sha256"],
        size=record["size"],
        content_type=record["content_type"],
        retain_until=datetime.fromisoformat(record["retain_until"]),
        legal_hold=legal_hold,
        created_at=datetime.fromisoformat(record["created_at"]),
        metadata=dict(record["metadata"]),
    )



__all__ = [
    "FileEvidenceStore", "validate_key", "validate_metadata", "normalize_retain_until", "sha256_hex",
    "deletion_refusal", "same_or_conflict", "integrity_failure",
]
