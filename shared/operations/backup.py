"""Backups of a home (the local backend): documents, warehouse, evidence, keys — and the proof
that a restore gave back exactly what was saved. (The emulators: `emulator_backup`, same
manifest kinds; `verify_backup` reads both.)

A backup is a directory: a consistent copy of every stateful file of the home (SQLite's online
backup of the documents; the DuckDB file after a checkpoint, taken while holding its lock, so
no run writes meanwhile; the evidence tree; the home's keys and tokens) and `manifest.json`,
an inventory of the state itself: the SHA-256 of every document's data by path, the rows and
an order-independent checksum (schema and every column) of every warehouse table, the SHA-256
of every evidence file and raw payload, and of every other file. `verify` recomputes the inventory of a backup
and compares it with its manifest; `restore` copies a backup into a home (the home's previous
state is moved aside, never deleted) and compares the restored home's inventory with the
manifest: every table checksum and every document.

The embedded bus keeps no messages between commands (each command delivers until nothing is
outstanding), so the bus state of a home is its topology plus what the documents record
(dead letters, claims, leases); the manifest says so. Logs are not backed up.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

MANIFEST = "manifest.json"
FORMAT = 1
DOCUMENTS_FILE = "documents.sqlite"
WAREHOUSE_FILE = "warehouse.duckdb"
EVIDENCE_DIR = "evidence"
RAW_DIR = "raw"  # the raw payload store (Phase 1's payloads)
KINDS = ("documents", "tables", "evidence", "raw", "files", "object_properties")  # the last: emulator backups
# not backed up: logs, the endpoints of running emulators, the home's lock (its holder's PID), and the
# metrics store (telemetry every command appends to, like the logs; alert episodes are documents)
NOT_STATE = ("logs", "emulators.env", "sportsflow.lock", MANIFEST, "metrics.sqlite", "metrics.sqlite-wal",
             "metrics.sqlite-shm")


class BackupError(Exception):
    """A backup that cannot be taken, read or restored; the message says what to do."""


@dataclass
class Comparison:
    """What differs between two inventories, per kind; empty when identical."""
    differences: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return not any(self.differences.values())

    def as_json(self) -> dict[str, Any]:
        return {"identical": self.identical, "counts": self.counts,
                "differences": {kind: items[:50] for kind, items in self.differences.items() if items}}


# --- the inventory ---------------------------------------------------------------------------
def inventory(home: Path) -> dict[str, Any]:
    """Every document, table, evidence file and other file of a home (or a backup), by checksum.
    Opens the databases read-only: a backup being verified is never changed."""
    return {"documents": document_hashes(home / DOCUMENTS_FILE), "tables": table_checksums(home / WAREHOUSE_FILE),
            "evidence": file_hashes(home / EVIDENCE_DIR), "raw": file_hashes(home / RAW_DIR),
            "files": _other_file_hashes(home)}


def document_hashes(path: Path) -> dict[str, str]:
    """path → SHA-256 of the document's data (its stored canonical JSON)."""
    if not path.exists():
        return {}
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT path, data FROM documents ORDER BY path").fetchall()
    finally:
        connection.close()
    return {document: _sha256(data.encode()) for document, data in rows}


def table_checksums(path: Path) -> dict[str, dict[str, Any]]:
    """`dataset.table` → rows and a checksum over the schema and every row (all columns, any order)."""
    if not path.exists():
        return {}
    import duckdb
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as error:
        raise BackupError(f"the warehouse {path} is in use by another process ({error}); stop it "
                          "(e.g. `sportsflow serve`, a running `sportsflow run`) and try again") from None
    try:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "ORDER BY 1, 2").fetchall()
        return {f"{schema}.{name}": _table_checksum(connection, schema, name) for schema, name in tables}
    finally:
        connection.close()


def _table_checksum(connection, schema: str, name: str) -> dict[str, Any]:
    relation = connection.execute(f'SELECT * FROM "{schema}"."{name}"')
    columns = [(column[0], str(column[1])) for column in relation.description]
    row_hashes = sorted(_sha256(json.dumps(row, default=str, ensure_ascii=False).encode())
                        for row in relation.fetchall())
    digest = hashlib.sha256(json.dumps(columns).encode())
    for row_hash in row_hashes:
        digest.update(row_hash.encode())
    return {"rows": len(row_hashes), "checksum": digest.hexdigest()}


def file_hashes(root: Path) -> dict[str, str]:
    """relative path → SHA-256 of every file under root."""
    if not root.is_dir():
        return {}
    return {str(path.relative_to(root)): _sha256(path.read_bytes())
            for path in sorted(root.rglob("*")) if path.is_file()}


def _other_file_hashes(home: Path) -> dict[str, str]:
    return {str(path.relative_to(home)): _sha256(path.read_bytes()) for path in _other_files(home)}


def _other_files(home: Path) -> Iterator[Path]:
    """The home's files that are not the documents, warehouse, evidence or logs: keys, tokens, outbox."""
    if not home.is_dir():
        return
    skipped = {DOCUMENTS_FILE, WAREHOUSE_FILE, EVIDENCE_DIR, RAW_DIR, *NOT_STATE}
    for path in sorted(home.iterdir()):
        if path.name in skipped or path.name.startswith((DOCUMENTS_FILE, WAREHOUSE_FILE)):
            continue
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (p for p in sorted(path.rglob("*")) if p.is_file())


def compare(expected: dict[str, Any], actual: dict[str, Any]) -> Comparison:
    """Each kind's entries that are missing, extra or different."""
    comparison = Comparison()
    for kind in KINDS:
        want, got = expected.get(kind, {}), actual.get(kind, {})
        comparison.counts[kind] = len(want)
        comparison.differences[kind] = (
            [f"missing {key}" for key in sorted(set(want) - set(got))]
            + [f"unexpected {key}" for key in sorted(set(got) - set(want))]
            + [f"different {key}" for key in sorted(set(want) & set(got)) if want[key] != got[key]])
    return comparison


# --- create, verify, restore ----------------------------------------------------------------
def create_backup(home: Path, destination: Path) -> dict[str, Any]:
    """A consistent copy of the home in `destination` (which must not exist) and its manifest."""
    if not (home / DOCUMENTS_FILE).exists() and not (home / WAREHOUSE_FILE).exists():
        raise BackupError(f"{home} holds no sportsflow state (no {DOCUMENTS_FILE}, no {WAREHOUSE_FILE})")
    if destination.exists():
        raise BackupError(f"{destination} exists: back up into a new directory")
    if destination.resolve().is_relative_to(home.resolve()):
        raise BackupError(f"{destination} is inside the home {home}: back up to a directory outside it "
                          "(a backup inside the home would copy itself, and every later backup would nest it)")
    destination.mkdir(parents=True)
    with _warehouse_held(home / WAREHOUSE_FILE):  # no run can write while the copy is taken
        _copy_documents(home / DOCUMENTS_FILE, destination / DOCUMENTS_FILE)
        if (home / WAREHOUSE_FILE).exists():
            shutil.copy2(home / WAREHOUSE_FILE, destination / WAREHOUSE_FILE)
        for store in (EVIDENCE_DIR, RAW_DIR):
            if (home / store).is_dir():
                shutil.copytree(home / store, destination / store)
        for path in _other_files(home):
            target = destination / path.relative_to(home)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    manifest = {"format": FORMAT, "created_at": datetime.now(timezone.utc).isoformat(), "home": str(home.resolve()),
                "bus": {"persisted": False, "note": "the embedded bus holds no messages between commands; dead "
                                                    "letters, claims and leases are documents"},
                **inventory(destination)}
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def verify_backup(backup: Path) -> Comparison:
    """The backup's contents against its own manifest (a local or an emulator backup)."""
    manifest = read_manifest(backup)
    if manifest.get("backend") == "emulator":
        from shared.operations.emulator_backup import read_backup_inventory
        return compare(manifest, read_backup_inventory(backup))
    return compare(manifest, inventory(backup))


def restore_backup(backup: Path, home: Path, *, replace_existing: bool = False) -> tuple[Comparison, Path | None]:
    """Copy a verified backup into `home`; the restored home compared with the manifest. A home with
    state is refused unless `replace_existing`: then it is moved aside (returned), never deleted."""
    manifest = read_manifest(backup)
    if manifest.get("backend") == "emulator":
        raise BackupError(f"{backup} is a backup of emulators: restore it with `sportsflow --backend emulator "
                          "backup restore` into empty emulators")
    checked = compare(manifest, inventory(backup))
    if not checked.identical:
        raise BackupError(f"the backup {backup} does not match its manifest ({checked.as_json()['differences']}): "
                          "restore another backup")
    moved_aside = None
    if home.exists() and any(p.name not in NOT_STATE for p in home.iterdir()):
        if not replace_existing:
            raise BackupError(f"{home} already holds state: pass --force to move it aside and restore")
        with _warehouse_held(home / WAREHOUSE_FILE):
            pass  # refuses while a process still has the home open
        moved_aside = home.with_name(f"{home.name}.before-restore-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}")
        home.rename(moved_aside)
    home.mkdir(parents=True, exist_ok=True)
    for path in sorted(backup.iterdir()):
        if path.name == MANIFEST:
            continue
        target = home / path.name
        shutil.copytree(path, target) if path.is_dir() else shutil.copy2(path, target)
    return compare(manifest, inventory(home)), moved_aside


def read_manifest(backup: Path) -> dict[str, Any]:
    path = backup / MANIFEST
    if not path.exists():
        raise BackupError(f"{backup} is not a backup (no {MANIFEST}): `sportsflow backup create DIR` makes one")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BackupError(f"{path}: the manifest is not readable JSON ({error}): this backup cannot be verified "
                          "or restored; use another backup") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        manifest = manifest if isinstance(manifest, dict) else {}
        raise BackupError(f"{path}: unknown backup format {manifest.get('format')!r} (this version reads {FORMAT})")
    if not any(manifest.get(kind) for kind in KINDS):
        raise BackupError(f"{path} lists nothing to verify or restore (no {', '.join(KINDS)}): not a backup "
                          "`sportsflow backup create` made")
    return manifest


def _copy_documents(source: Path, destination: Path) -> None:
    """SQLite's online backup: a consistent copy even while a reader has it open."""
    if not source.exists():
        return
    src, dst = sqlite3.connect(source), sqlite3.connect(destination)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


class _warehouse_held:
    """Hold the DuckDB file's write lock (checkpointed) for the duration: a run cannot write, and
    one that is running makes this fail with what to do."""

    def __init__(self, path: Path):
        self._path, self._connection = path, None

    def __enter__(self):
        if not self._path.exists():
            return self
        import duckdb
        try:
            self._connection = duckdb.connect(str(self._path))
        except duckdb.IOException as error:
            raise BackupError(f"the warehouse {self._path} is in use by another process ({error}); stop it "
                              "(e.g. `sportsflow serve`, a running `sportsflow run`) and try again") from None
        self._connection.execute("CHECKPOINT")
        return self

    def __exit__(self, *exc):
        if self._connection is not None:
            self._connection.close()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
