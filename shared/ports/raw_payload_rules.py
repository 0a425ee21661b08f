"""The raw store's key rules, shared by its adapters: evidence-style portable keys whose last
segment is `<sha256 of the bytes>.<extension>` (content addressing)."""
from __future__ import annotations

import hashlib
import re

from shared.ports.evidence_rules import validate_key
from shared.ports.raw_payloads import RawPayloadCorrupt

_CONTENT_NAME = re.compile(r"(?P<sha256>[0-9a-f]{64})\.[a-z0-9]{1,8}")


def content_sha256(key: str) -> str:
    """The SHA-256 a valid raw key names, or ValueError saying why the key is not one."""
    validate_key(key)
    named = _CONTENT_NAME.fullmatch(key.rsplit("/", 1)[-1])
    if named is None:
        raise ValueError(f"raw key {key[:300]!r} must end in '<sha256 of the bytes>.json' (content-addressed)")
    return named["sha256"]


def checked_put(key: str, data: bytes) -> str:
    """The key's SHA-256 when `data` is what it names, else ValueError."""
    expected = content_sha256(key)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ValueError(f"raw key {key!r} names SHA-256 {expected}, the bytes have {actual}")
    return expected


def checked_read(key: str, data: bytes) -> bytes:
    actual = hashlib.sha256(data).hexdigest()
    if actual != content_sha256(key):
        raise RawPayloadCorrupt(f"raw payload {key!r} has SHA-256 {actual}, not the one its key names: "
                                f"the stored bytes changed; re-scrape the date")
    return data
