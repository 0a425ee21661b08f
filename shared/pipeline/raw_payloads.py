"""Where Phase 1's payloads are kept and read back: the raw store (`services.raw_payloads`,
the raw bucket on gcp), never the evidence store. Phase 2 and a rebuild from the stored
payloads read them through `read_raw_payload` only, so every reader refuses the same bad
references the same way: permanently (dead-lettered, not retried)."""
from __future__ import annotations

import hashlib
from datetime import date
from typing import TYPE_CHECKING

from shared.ports.raw_payload_rules import content_sha256
from shared.ports.raw_payloads import RawObject, RawPayloadError, RawPayloadNotFound
from shared.runtime.errors import PermanentError

if TYPE_CHECKING:
    from shared.bootstrap import Services

RAW_PREFIX = "raw"


def raw_payload_key(scraper: str, day: date, sha256: str) -> str:
    return f"{RAW_PREFIX}/{scraper}/{day.isoformat()}/{sha256}.json"


def store_raw_payload(services: "Services", scraper: str, day: date, data: bytes) -> RawObject:
    """Create-only and content-addressed: the same bytes again are a no-op under the same key."""
    return services.raw_payloads.put(raw_payload_key(scraper, day, hashlib.sha256(data).hexdigest()), data)


def raw_key_of(payload_uri: str) -> str:
    """The raw-store key a payload URI names (a bare key, or `<scheme>://<bucket>/<key>`), or a
    PermanentError: a reference that cannot name a stored payload never will."""
    _scheme, separator, rest = payload_uri.partition("://")
    key = rest.partition("/")[2] if separator else payload_uri
    if not key:
        raise PermanentError(f"payload URI {payload_uri[:300]!r} names no object")
    try:
        content_sha256(key)
    except ValueError as invalid:
        raise PermanentError(f"payload URI {payload_uri[:300]!r} is not a raw payload key: {invalid}") from None
    return key


def read_raw_payload(services: "Services", payload_uri: str, expected_sha256: str | None = None) -> bytes:
    """THE way to read a stored raw payload: its bytes, verified against its key (and against
    `expected_sha256` when the caller has one, e.g. the announcing message's). Every failure is
    a PermanentError saying which payload and why: retrying cannot make it readable."""
    key = raw_key_of(payload_uri)
    try:
        data = services.raw_payloads.get(key)
    except RawPayloadNotFound:
        raise PermanentError(f"payload {payload_uri[:300]} does not exist in the raw store "
                             f"(expired by the raw bucket's lifecycle, or never stored): re-scrape the date") from None
    except RawPayloadError as err:
        raise PermanentError(f"payload {payload_uri[:300]}: {err}") from None
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise PermanentError(f"payload {payload_uri[:300]} has SHA-256 {hashlib.sha256(data).hexdigest()}, "
                             f"the message says {expected_sha256}")
    return data


def stored_raw_payload(services: "Services", payload_uri: str) -> RawObject | None:
    """The stored object's description (when it was stored), or None."""
    return services.raw_payloads.head(raw_key_of(payload_uri))


def list_raw_payloads(services: "Services", scraper: str | None = None, day: date | None = None) -> list[RawObject]:
    """The stored payloads, optionally of one scraper (and date)."""
    prefix = f"{RAW_PREFIX}/"
    if scraper:
        prefix += f"{scraper}/" + (f"{day.isoformat()}/" if day else "")
    return services.raw_payloads.list(prefix)
