"""A home (`--home`, $SPORTSFLOW_HOME): one process at a time, and one source for its whole life.

    with HomeLock(settings.home):              # HomeInUse: "home H is in use by PID N (...)"
        pin_source(services.documents, "replay:/data")   # HomeSourceMismatch on another source

The lock is an exclusive `flock` on `<home>/sportsflow.lock`, which also records the holder's
PID and command; the kernel lets go of it when the process ends, however it ends, so a killed
run never leaves a home locked. Within one process the lock is re-entrant (tests open several
pipelines on one home one after another, and the embedded warehouse allows it).

The source record lives with the state it describes, in the home's document store
(`home/source`): the first run or backfill records it; a later one with another source
refuses, rather than mixing one source's raw rows with another's analytics. Two sources are
the same when their kind is: "synthetic", "synthetic:SEED" (another seed is another league),
"replay" — any replay folder: a corrected copy of the files is the same source with
corrected data (tests/exactly_once/test_corrections.py), and seasons differ by date anyway.
"""
from __future__ import annotations

import fcntl
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from shared.adapters.local.warehouse import WarehouseInUse

if TYPE_CHECKING:
    from shared.ports.documents import DocumentStore

LOCK_FILE = "sportsflow.lock"
SOURCE_DOCUMENT = "home/source"


class HomeInUse(WarehouseInUse):
    """Another process works on this home."""


class HomeSourceMismatch(ValueError):
    """The home was built from another source."""


class HomeNotFound(ValueError):
    """A command that reads a home was pointed at one nothing has run on (a typo in --home, usually)."""


def require_used_home(home: Path) -> None:
    """Refuse, without creating anything, a local home that holds no state: a status, health probe or
    rebuild of it would only describe (or create) an empty home and call it fine."""
    if not (Path(home) / "documents.sqlite").is_file():
        raise HomeNotFound(f"nothing has run on home {home} yet: `sportsflow run --date YYYY-MM-DD` with this "
                           "--home creates it (or check --home and SPORTSFLOW_HOME for a typo)")


_held: dict[Path, list] = {}  # resolved home -> [open lock file, holders in this process]
_held_lock = threading.Lock()


class HomeLock:
    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self._key = self.home.resolve()
        self._acquired = False

    def acquire(self) -> "HomeLock":
        with _held_lock:
            if self._key in _held:
                _held[self._key][1] += 1
            else:
                _held[self._key] = [self._open_locked(), 1]
        self._acquired = True
        return self

    def release(self) -> None:
        if not self._acquired:
            return
        self._acquired = False
        with _held_lock:
            entry = _held[self._key]
            entry[1] -= 1
            if entry[1] == 0:
                entry[0].close()  # closing the file ends the flock
                del _held[self._key]

    def __enter__(self) -> "HomeLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def _open_locked(self):
        self.home.mkdir(parents=True, exist_ok=True)
        handle = open(self.home / LOCK_FILE, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise in_use(self.home, holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"PID {os.getpid()} ({' '.join(['sportsflow', *sys.argv[1:]])[:200]})\n")
        handle.flush()
        return handle


def in_use(home: Path, holder: str) -> HomeInUse:
    return HomeInUse(f"home {home} is in use by {holder}: wait for it to finish, or give this command "
                     "another --home")


def source_spelling(source: str) -> str:
    """One spelling per source: "synthetic", "synthetic:SEED" or "replay" (any folder)."""
    kind, _, argument = source.partition(":")
    if kind == "replay":
        return "replay"
    if kind == "synthetic" and argument in ("", "0"):
        return "synthetic"
    return source


def recorded_source(documents: "DocumentStore") -> str | None:
    document = documents.get(SOURCE_DOCUMENT)
    return document.data["source"] if document else None


def first_source(documents: "DocumentStore") -> str | None:
    """The --source the home was first run with, as typed (e.g. "replay:../shared/data")."""
    document = documents.get(SOURCE_DOCUMENT)
    return (document.data.get("first") or document.data["source"]) if document else None


def run_command(documents: "DocumentStore", day) -> str:
    """`sportsflow run` for `day` with the --source this home accepts (advice that works as printed)."""
    import shlex
    source = first_source(documents)
    given = "" if source in (None, "synthetic") else f" --source {shlex.quote(source)}"
    return f"sportsflow run --date {day}{given}"


def pin_source(documents: "DocumentStore", source: str, home: Path) -> None:
    """Record `source` as the home's on first use; refuse another one later."""
    wanted = source_spelling(source)
    documents.create(SOURCE_DOCUMENT, {"source": wanted, "first": source, "recorded_at": documents.now()})
    built_from = recorded_source(documents)
    if built_from != wanted:
        raise HomeSourceMismatch(
            f"home {home} was built from {built_from}, and this command asks for {source}: one home holds one "
            f"source's data. Give it another home (e.g. `--home {home.parent / (home.name + '-other')}`), "
            f"or run with --source {first_source(documents)}")
