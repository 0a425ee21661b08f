"""RawPayloadStore on a local directory: one read-only file per key, created exclusively
(a second writer of the same key finds it there). No deletes: a local home is thrown away whole."""
from __future__ import annotations

import logging
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

from shared.ports.raw_payload_rules import checked_put, checked_read, content_sha256
from shared.ports.raw_payloads import RawObject, RawPayloadError, RawPayloadNotFound

log = logging.getLogger("sportsflow.raw_payloads")
_READ_ONLY = 0o444


class FileRawPayloadStore:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, key: str, data: bytes) -> RawObject:
        sha256 = checked_put(key, data)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{uuid.uuid4().hex}.tmp")
        with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _READ_ONLY), "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temp, path)  # atomic and create-only
        except FileExistsError:
            pass  # content-addressed: the same key holds the same bytes (get verifies)
        finally:
            temp.unlink()
        log.info("raw payload stored", extra={"fields": {"key": key, "sha256": sha256, "size": len(data)}})
        return self._object(key, path)

    def get(self, key: str) -> bytes:
        try:
            return checked_read(key, self._path(key).read_bytes())
        except FileNotFoundError:
            raise RawPayloadNotFound(f"no raw payload {key!r}") from None

    def head(self, key: str) -> RawObject | None:
        path = self._path(key)
        return self._object(key, path) if path.exists() else None

    def list(self, prefix: str = "") -> list[RawObject]:
        found = []
        for path in sorted(self.root.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and not path.name.startswith(".") and key.startswith(prefix):
                found.append(self._object(key, path))
        return found

    def close(self) -> None:
        pass

    def _path(self, key: str) -> Path:
        content_sha256(key)  # a portable, content-addressed key: no traversal can reach here
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise RawPayloadError(f"raw key {key!r} resolves outside the store")
        return path

    @staticmethod
    def _object(key: str, path: Path) -> RawObject:
        stat = path.stat()
        return RawObject(key=key, sha256=content_sha256(key), size=stat.st_size,
                         created_at=datetime.fromtimestamp(stat.st_mtime, timezone.utc))
