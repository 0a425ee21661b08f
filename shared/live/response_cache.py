"""Serialized list responses of the live read API, filled at most once per CACHE_SECONDS per instance.

A fill serializes the list once, gzips it once and names it with an ETag (a hash of the
bytes, so an unchanged list keeps its ETag from one fill to the next). Every request meanwhile
is answered from those bytes: 304 when its If-None-Match names the current ETag, the gzipped
bytes when it accepts gzip, else the plain bytes. Nothing is serialized per request.
One request refills an expired key (single flight); the others meanwhile get the previous fill
(stale while revalidating, so a fill never stalls every reader of the key: at most
CACHE_SECONDS plus one fill old). Only a key never filled makes requests wait for the fill.
The age is measured on the store's clock, so tests move it with the store's clock.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import flask

    from shared.ports.documents import DocumentStore

CACHE_SECONDS = 1.0
MAX_ENTRIES = 64  # keys per store and instance: /matches/live plus recently asked diary dates
GZIP_LEVEL = 5  # the list is tiny once compressed; level 5 costs ~1 ms per fill, 9 buys nothing


@dataclass(frozen=True)
class CachedBody:
    plain: bytes
    gzipped: bytes
    etag: str  # unquoted; the gzipped representation's is etag + "-gzip"
    filled_at: float

    @classmethod
    def of(cls, payload: Any, filled_at: float) -> "CachedBody":
        plain = json.dumps(payload, separators=(",", ":")).encode()
        etag = hashlib.blake2b(plain, digest_size=12).hexdigest()
        return cls(plain, gzip.compress(plain, compresslevel=GZIP_LEVEL, mtime=0), etag, filled_at)

    def response(self, request: "flask.Request") -> "flask.Response":
        import flask

        gzip_etag = f"{self.etag}-gzip"
        wants_gzip = request.accept_encodings["gzip"] > 0
        headers = {"Cache-Control": f"private, max-age={int(CACHE_SECONDS)}", "Vary": "Accept-Encoding",
                   "ETag": f'"{gzip_etag if wants_gzip else self.etag}"'}
        if request.if_none_match.contains_weak(self.etag) or request.if_none_match.contains_weak(gzip_etag):
            return flask.Response(status=304, headers=headers)
        if wants_gzip:
            return flask.Response(self.gzipped, status=200, mimetype="application/json",
                                  headers={**headers, "Content-Encoding": "gzip"})
        return flask.Response(self.plain, status=200, mimetype="application/json", headers=headers)


class ResponseCache:
    """CachedBody per (document store, key), at most `seconds` old on the store's clock, single
    flight; at most `max_entries` keys per store, the least recently used dropped first (every
    date of the diary is a key: a crawler walking the calendar must not grow an instance)."""

    def __init__(self, seconds: float = CACHE_SECONDS, max_entries: int = MAX_ENTRIES):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.seconds, self.max_entries = seconds, max_entries
        self._lock = threading.Lock()
        self._per_store: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def keys(self, documents: "DocumentStore") -> list[str]:
        """The cached keys, least recently used first."""
        with self._lock:
            return list(self._per_store.get(documents, {}))

    def get(self, documents: "DocumentStore", key: str, build: Callable[[], Any]) -> CachedBody:
        with self._lock:
            entries: OrderedDict = self._per_store.setdefault(documents, OrderedDict())
            entry = entries.get(key)
            if entry is None:
                entry = entries[key] = {"lock": threading.Lock(), "body": None}
                while len(entries) > self.max_entries:
                    entries.popitem(last=False)  # a request holding the dropped entry still gets its body
            else:
                entries.move_to_end(key)
        body: CachedBody | None = entry["body"]
        if body is not None and self._fresh(body, documents):
            return body
        if body is not None and not entry["lock"].acquire(blocking=False):
            return body  # another request is refilling: answer from the previous fill meanwhile
        if body is None:
            entry["lock"].acquire()  # nothing to answer from yet: wait for the one fill in flight
        try:
            body = entry["body"]
            if body is None or not self._fresh(body, documents):
                body = entry["body"] = CachedBody.of(build(), documents.now().timestamp())
            return body
        finally:
            entry["lock"].release()

    def _fresh(self, body: CachedBody, documents: "DocumentStore") -> bool:
        return 0 <= documents.now().timestamp() - body.filled_at < self.seconds
