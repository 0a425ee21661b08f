"""A persistent cache of what `ReplaySource.check()` read: a second process on the same files
loads the parsed, checked rows instead of parsing every CSV of the season again.

    cache = ReplayCache.default()      # $SPORTSFLOW_REPLAY_CACHE, else ~/.cache/sportsflow/replay
    key = files_key(files)             # files: (kind, path) of every replay file
    loaded = cache.load(files, key)    # None when absent, stale or unreadable
    cache.store(files, key, loaded)    # only after every file passed its checks

An entry can never be stale: its key is every file's bytes (a BLAKE2 digest of the whole
content, so an edit keeping size and mtime is still seen), the source of the modules that parse
and check the rows (`PARSING_MODULES`, the contracts' constraints included), and the Python,
pydantic and pickle versions. One entry per replay folder (its file name comes from the files'
paths), overwritten when the key changes. A file is written whole to a temporary name and renamed,
and carries a digest of its payload: a torn, truncated or unreadable entry is logged and rebuilt,
never trusted. Entries hold pickles: the cache directory is the user's own, like pip's.

The directory: `$SPORTSFLOW_REPLAY_CACHE`, else `$XDG_CACHE_HOME/sportsflow/replay`, else
`~/.cache/sportsflow/replay`. Clearing it is always safe: `rm -rf ~/.cache/sportsflow/replay`.
"""
from __future__ import annotations

import gc
import hashlib
import importlib.util
import logging
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import pydantic

log = logging.getLogger("sportsflow.providers")

CACHE_DIR_VARIABLE = "SPORTSFLOW_REPLAY_CACHE"
ENTRY_FORMAT = 1  # bump when the entry's own layout changes
PICKLE_PROTOCOL = 5
# Every `shared` module that parsing and checking the files imports, so any edit to them is a
# new key (tests/providers/test_replay_cache.py checks that nothing else is imported).
PARSING_MODULES = ("shared.providers", "shared.providers.replay", "shared.providers.replay_layout",
                   "shared.providers.replay_cache", "shared.providers.payloads", "shared.providers.teams",
                   "shared.providers.seasons", "shared.identity", "shared.identity.careers",
                   "shared.identity.names", "shared.identity.aliases", "shared.identity.resolver")


def default_cache_dir() -> Path:
    if override := os.environ.get(CACHE_DIR_VARIABLE):
        return Path(override).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sportsflow" / "replay"


@lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the parsing modules' source and of the versions that shape a pickle."""
    digest = hashlib.blake2b(digest_size=16)
    for name in (sys.version, pydantic.VERSION, str(PICKLE_PROTOCOL), str(ENTRY_FORMAT)):
        digest.update(name.encode() + b"\0")
    for module in PARSING_MODULES:
        digest.update(module.encode() + b"\0" + Path(importlib.util.find_spec(module).origin).read_bytes())
    return digest.hexdigest()


def files_key(files: Sequence[tuple[str, Path]]) -> tuple:
    """(code version, (kind, path, size, content digest) of every file): equal keys, equal rows."""
    fingerprints = []
    for kind, path in files:
        content = path.read_bytes()
        fingerprints.append((kind, str(path), len(content), hashlib.blake2b(content, digest_size=16).hexdigest()))
    return code_version(), tuple(fingerprints)


@dataclass(frozen=True)
class ReplayCache:
    directory: Path

    @classmethod
    def default(cls) -> "ReplayCache":
        return cls(default_cache_dir())

    def entry_path(self, files: Sequence[tuple[str, Path]]) -> Path:
        where = hashlib.blake2b("\n".join(f"{kind}={path.resolve()}" for kind, path in files).encode(),
                                digest_size=12).hexdigest()
        return self.directory / f"{where}.pickle"

    def load(self, files: Sequence[tuple[str, Path]], key: tuple) -> dict[str, Any] | None:
        """The rows stored under `key` (`files_key(files)`), or None (absent, stale or unreadable)."""
        path = self.entry_path(files)
        try:
            stored = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            log.warning("replay cache unreadable, parsing the files instead: %s", error,
                        extra={"fields": {"cache_entry": str(path)}})
            return None
        try:
            entry = _unpickled(stored)
            if entry["key"] != key:
                return None  # the files or the code changed: parse again, the store overwrites it
            if hashlib.blake2b(entry["payload"], digest_size=16).digest() != entry["digest"]:
                raise ValueError("its payload does not match its digest (torn or altered)")
            return _unpickled(entry["payload"])
        except Exception as error:  # noqa: BLE001 - any damage to a cache entry means: rebuild it
            log.warning("replay cache entry is corrupt, parsing the files again and rewriting it: %s: %s",
                        type(error).__name__, error, extra={"fields": {"cache_entry": str(path)}})
            return None

    def store(self, files: Sequence[tuple[str, Path]], key: tuple, loaded: dict[str, Any]) -> None:
        """Write the entry atomically (a temporary file renamed over it); a failure only logs."""
        path = self.entry_path(files)
        payload = pickle.dumps(loaded, protocol=PICKLE_PROTOCOL)
        entry = {"key": key, "digest": hashlib.blake2b(payload, digest_size=16).digest(), "payload": payload}
        temporary = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, prefix=f".{path.stem}-", suffix=".tmp",
                                             delete=False) as handle:
                temporary = Path(handle.name)
                handle.write(pickle.dumps(entry, protocol=PICKLE_PROTOCOL))
            os.replace(temporary, path)
        except OSError as error:
            log.warning("replay cache not written, the next run parses the files again: %s", error,
                        extra={"fields": {"cache_entry": str(path)}})
            if temporary is not None:
                temporary.unlink(missing_ok=True)


def _unpickled(data: bytes) -> Any:
    """pickle.loads with the cyclic collector paused: the rows hold no cycles, and the collections
    that hundreds of thousands of new objects would trigger cost more than the unpickling itself."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)
    finally:
        if collecting:
            gc.enable()
