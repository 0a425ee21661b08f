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

Keys, metadata and retention follow the port's rules (`shared.ports.evidence_rules`).
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, Mapping

from shared.ports.evidence import (
    EvidenceNotFound,
    EvidenceObject,
    RetentionLocked,
)
from shared.ports.evidence_rules import (
    checked_retain_until,
    deletion_refusal,
    integrity_failure,
    normalize_retain_until,
    same_or_conflict,
    sha256_hex,
    validate_key,
    validate_metadata,
)

log = logging.getLogger("sportsflow.evidence")

_SIDECAR_SUFFIX = "~meta.json"
_HOLD_SUFFIX = ".legal-hold"
_READ_ONLY = 0o444


class FileEvidenceStore:
    """EvidenceStore on a local directory (see the module docstring for the layout)."""

    def __init__(self, root: Path | str, *, retention_floors: Mapping[str, timedelta] | None = None) -> None:
        self.retention_floors = retention_floors  # None: evidence_rules.RETENTION_FLOORS
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
            "retain_until": checked_retain_until(key, retain_until, floors=self.retention_floors).isoformat(),
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
