"""Backups of an emulator home: every Firestore document, every table of the BigQuery stand-in,
every object of the evidence and raw buckets, the home's own files — read and written back
through the Services' adapters, with the same manifest of checksums as a local backup.

The emulators export nothing themselves (the Firestore emulator's export is not the production
format and bqemulator has none), so the backup goes through the clients:
- `documents.jsonl`: one line per document, `{"path", "data"}`, every collection recursively
  (subcollections of missing parents too); timestamps and bytes are tagged (`{"$timestamp": …}`,
  `{"$bytes": …}`; a map that looks like a tag is wrapped in `{"$map": …}`) so a restore writes
  them back as Firestore timestamps and bytes, and a value restored as the wrong type hashes
  differently.
- `tables/<dataset>.<table>.json` (schema, partitioning, clustering, description) and
  `tables/<dataset>.<table>.ndjson` (its rows, dates and timestamps in ISO form, JSON as JSON).
- `evidence/<name>`, `raw/<name>`: each object's bytes; `<bucket kind>.properties.json`: its
  content type, custom metadata (the recorded SHA-256 among them) and retention.
- `home/`: the home's keys and tokens (as a local backup's `files`).

The manifest's kinds are those of a local backup (documents by path → SHA-256 of the tagged data,
tables → rows and a checksum over schema and rows, objects → SHA-256 of their bytes, files) plus
`object_properties`. A restore writes into an EMPTY target — another project (a namespace of the
same emulators) with other bucket names, or fresh emulators — and refuses one holding anything.

Pub/Sub keeps no exportable state: topics and subscriptions come from the topology (every run
deploys them); messages in flight are not in a backup, so take it when no run is delivering
(the home lock keeps a run of this home out meanwhile). On gcp `sportsflow backup` refuses:
production backups are Google's (docs/runbooks.md).
"""
from __future__ import annotations

import base64
import hashlib
import json
import shutil
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from proto.datetime_helpers import DatetimeWithNanoseconds

from shared.bootstrap import Services
from shared.operations.backup import (
    FORMAT,
    MANIFEST,
    BackupError,
    Comparison,
    _other_files,
    compare,
    read_manifest,
)
from shared.pipeline.home import HomeInUse, HomeLock

BACKEND = "emulator"
DOCUMENTS_EXPORT = "documents.jsonl"
TABLES_DIR = "tables"
HOME_FILES_DIR = "home"
BUCKET_STORES = {"evidence": "evidence", "raw": "raw_payloads"}  # manifest kind (= backup folder) → Services attribute
BUCKET_KINDS = tuple(BUCKET_STORES)
_TIMESTAMP, _BYTES, _MAP = "$timestamp", "$bytes", "$map"
_TAGS = (_TIMESTAMP, _BYTES, _MAP)
_DOCUMENT_BATCH = 500  # Firestore's limit of writes in one batch


# --- create ----------------------------------------------------------------------------------
def create_emulator_backup(services: Services, destination: Path) -> dict[str, Any]:
    """Read the emulator home's whole state into `destination` (a new directory) and its manifest."""
    home = services.settings.home
    if destination.exists():
        raise BackupError(f"{destination} exists: back up into a new directory")
    with _home_held(home):
        destination.mkdir(parents=True)
        _export_documents(services, destination / DOCUMENTS_EXPORT)
        _export_tables(services, destination / TABLES_DIR)
        for kind in BUCKET_KINDS:
            _export_objects(bucket_store(services, kind), destination, kind)
        _copy_home_files(home, destination / HOME_FILES_DIR)
    if not any(read_backup_inventory(destination)[kind] for kind in ("documents", "tables")):
        shutil.rmtree(destination)
        raise BackupError(f"the emulators of project {services.settings.project!r} hold no sportsflow state (no "
                          "document, no table): is this the home and project the run used?")
    manifest = {"format": FORMAT, "backend": BACKEND, "created_at": datetime.now(timezone.utc).isoformat(),
                "home": str(home.resolve()), "project": services.settings.project,
                "buckets": {kind: _bucket_name(services.settings, kind) for kind in BUCKET_KINDS},
                "bus": {"persisted": False, "note": "Pub/Sub has no export: topics and subscriptions come from the "
                                                    "topology; messages in flight are not in a backup; dead "
                                                    "letters, claims and leases are documents"},
                **read_backup_inventory(destination)}
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def _export_documents(services: Services, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for document_path, data in sorted(services.documents.all_documents()):
            out.write(json.dumps({"path": document_path, "data": tagged(data)}, sort_keys=True,
                                 ensure_ascii=False) + "\n")


def _export_tables(services: Services, folder: Path) -> None:
    folder.mkdir()
    warehouse = services.warehouse
    for name in warehouse.table_names():
        definition = warehouse.table_definition(name)
        columns = [field["name"] for field in definition["schema"]]
        rows = warehouse.query(f"SELECT * FROM `{name}`")
        (folder / f"{name}.json").write_text(json.dumps(definition, indent=1, sort_keys=True))
        with (folder / f"{name}.ndjson").open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps({c: plain(row.get(c)) for c in columns}, ensure_ascii=False) + "\n")


def _export_objects(store, destination: Path, kind: str) -> None:
    properties = {}
    for stored in store.all_objects():
        target = _object_path(destination / kind, stored.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(stored.data)
        properties[stored.name] = stored.properties()
    (destination / f"{kind}.properties.json").write_text(json.dumps(properties, indent=1, sort_keys=True))


def _copy_home_files(home: Path, folder: Path) -> None:
    for path in _other_files(home):
        target = folder / path.relative_to(home)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


# --- inventories -----------------------------------------------------------------------------
def read_backup_inventory(backup: Path) -> dict[str, Any]:
    """The inventory of an emulator backup, from its files alone (no emulator needed)."""
    documents = {}
    if (backup / DOCUMENTS_EXPORT).exists():
        for line in (backup / DOCUMENTS_EXPORT).read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            documents[entry["path"]] = _document_hash(entry["data"])
    tables = {}
    for definition_file in sorted((backup / TABLES_DIR).glob("*.json")):
        name = definition_file.name.removesuffix(".json")
        definition = json.loads(definition_file.read_text())
        rows_file = backup / TABLES_DIR / f"{name}.ndjson"
        rows = [json.loads(line) for line in rows_file.read_text(encoding="utf-8").splitlines()] \
            if rows_file.exists() else []
        tables[name] = table_checksum(definition, rows)
    inventory = {"documents": documents, "tables": tables, "object_properties": {},
                 "files": _file_hashes(backup / HOME_FILES_DIR)}
    for kind in BUCKET_KINDS:
        properties = _read_properties(backup, kind)
        inventory[kind] = {name: _sha256(_object_path(backup / kind, name).read_bytes())
                           if _object_path(backup / kind, name).exists() else "missing" for name in properties}
        inventory[kind].update({name: sha for name, sha in _file_hashes(backup / kind).items()
                                if name not in properties})  # bytes no properties name: reported as unexpected
        inventory["object_properties"].update({f"{kind}/{name}": _sha256(_canonical(value))
                                               for name, value in properties.items()})
    return inventory


def live_inventory(services: Services) -> dict[str, Any]:
    """The same inventory read from the emulators themselves (and the home's files)."""
    warehouse = services.warehouse
    tables = {}
    for name in warehouse.table_names():
        definition = warehouse.table_definition(name)
        columns = [field["name"] for field in definition["schema"]]
        rows = [{c: plain(row.get(c)) for c in columns} for row in warehouse.query(f"SELECT * FROM `{name}`")]
        tables[name] = table_checksum(definition, rows)
    inventory = {"documents": {path: _document_hash(tagged(data)) for path, data in services.documents.all_documents()},
                 "tables": tables, "object_properties": {},
                 "files": {str(p.relative_to(services.settings.home)): _sha256(p.read_bytes())
                           for p in _other_files(services.settings.home)}}
    for kind in BUCKET_KINDS:
        objects = list(bucket_store(services, kind).all_objects())
        inventory[kind] = {stored.name: _sha256(stored.data) for stored in objects}
        inventory["object_properties"].update({f"{kind}/{stored.name}": _sha256(_canonical(stored.properties()))
                                               for stored in objects})
    return inventory


def table_checksum(definition: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows and a checksum over the schema (names, types) and every row (any order), like a local table's."""
    columns = [(field["name"], field["type"]) for field in definition["schema"]]
    row_hashes = sorted(_sha256(_canonical([row.get(name) for name, _ in columns])) for row in rows)
    digest = hashlib.sha256(json.dumps(columns).encode())
    for row_hash in row_hashes:
        digest.update(row_hash.encode())
    return {"rows": len(row_hashes), "checksum": digest.hexdigest()}


# --- restore ---------------------------------------------------------------------------------
def restore_emulator_backup(backup: Path, services: Services) -> Comparison:
    """Write a verified emulator backup into the (empty) emulators of `services`, then compare
    the restored state, read back from the emulators, with the manifest."""
    manifest = read_emulator_manifest(backup)
    checked = compare(manifest, read_backup_inventory(backup))
    if not checked.identical:
        raise BackupError(f"the backup {backup} does not match its manifest ({checked.as_json()['differences']}): "
                          "restore another backup")
    home = services.settings.home
    home.mkdir(parents=True, exist_ok=True)
    with _home_held(home):
        occupied = target_contents(services)
        if occupied:
            raise BackupError(f"the restore target is not empty ({'; '.join(occupied)}): restore into a fresh "
                              "project (GOOGLE_CLOUD_PROJECT=…, other SPORTSFLOW_EVIDENCE_BUCKET/RAW_BUCKET) or "
                              "fresh emulators (`sportsflow emulators up` with a new SPORTSFLOW_HOME)")
        _import_documents(services, backup / DOCUMENTS_EXPORT)
        _import_tables(services, backup / TABLES_DIR)
        for kind in BUCKET_KINDS:
            _import_objects(bucket_store(services, kind), backup, kind)
        if (backup / HOME_FILES_DIR).is_dir():
            shutil.copytree(backup / HOME_FILES_DIR, home, dirs_exist_ok=True)
        return compare(manifest, live_inventory(services))


def target_contents(services: Services) -> list[str]:
    """What the target already holds (empty: it may be restored into)."""
    occupied = []
    if next(iter(services.documents.all_documents()), None) is not None:
        occupied.append(f"Firestore of project {services.settings.project!r} has documents")
    if services.warehouse.table_names():
        occupied.append(f"the warehouse of project {services.settings.project!r} has tables")
    for kind in BUCKET_KINDS:
        if not bucket_store(services, kind).is_empty():
            occupied.append(f"the {kind} bucket {_bucket_name(services.settings, kind)!r} has objects")
    if any(True for _ in _other_files(services.settings.home)):
        occupied.append(f"the home {services.settings.home} has files")
    return occupied


def _import_documents(services: Services, path: Path) -> None:
    batch: list[tuple[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        batch.append((entry["path"], untagged(entry["data"])))
        if len(batch) == _DOCUMENT_BATCH:
            services.documents.set_many(batch)
            batch = []
    services.documents.set_many(batch)


def _import_tables(services: Services, folder: Path) -> None:
    for definition_file in sorted(folder.glob("*.json")):
        name = definition_file.name.removesuffix(".json")
        rows_file = folder / f"{name}.ndjson"
        services.warehouse.create_table_with_rows(name, json.loads(definition_file.read_text()),
                                                  rows_file.read_bytes() if rows_file.exists() else b"")


def _import_objects(store, backup: Path, kind: str) -> None:
    from shared.adapters.gcp.bucket_objects import StoredObject

    store.ensure_bucket()
    for name, properties in sorted(_read_properties(backup, kind).items()):
        store.restore_object(StoredObject.from_properties(name, _object_path(backup / kind, name).read_bytes(),
                                                          properties))


# --- values ----------------------------------------------------------------------------------
def tagged(value: Any) -> Any:
    """A Firestore value as JSON that keeps timestamps and bytes apart from strings."""
    if isinstance(value, datetime):
        text = value.rfc3339() if isinstance(value, DatetimeWithNanoseconds) else value.isoformat()
        return {_TIMESTAMP: text}
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode()}
    if isinstance(value, dict):
        items = {key: tagged(item) for key, item in value.items()}
        return {_MAP: items} if len(items) == 1 and next(iter(items)) in _TAGS else items  # a map shaped like a tag
    if isinstance(value, (list, tuple)):
        return [tagged(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise BackupError(f"a Firestore value of type {type(value).__name__} cannot be backed up yet")


def untagged(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_TIMESTAMP}:
            return DatetimeWithNanoseconds.from_rfc3339(value[_TIMESTAMP]) if value[_TIMESTAMP].endswith("Z") \
                else datetime.fromisoformat(value[_TIMESTAMP])
        if set(value) == {_BYTES}:
            return base64.b64decode(value[_BYTES])
        if set(value) == {_MAP}:
            return {key: untagged(item) for key, item in value[_MAP].items()}
        return {key: untagged(item) for key, item in value.items()}
    if isinstance(value, list):
        return [untagged(item) for item in value]
    return value


def plain(value: Any) -> Any:
    """A warehouse value as it is loaded back (NDJSON): dates and timestamps in ISO form."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


# --- helpers ---------------------------------------------------------------------------------
@contextmanager
def _home_held(home: Path) -> Iterator[None]:
    """No run of this home delivers while a backup is read or a restore written."""
    try:
        lock = HomeLock(home).acquire()
    except HomeInUse as error:
        raise BackupError(str(error)) from None
    try:
        yield
    finally:
        lock.release()


def bucket_store(services: Services, kind: str):
    """The Services' store of a bucket kind (its adapter has all_objects, restore_object, is_empty)."""
    return getattr(services, BUCKET_STORES[kind])


def read_emulator_manifest(backup: Path) -> dict[str, Any]:
    manifest = read_manifest(backup)
    if manifest.get("backend") != BACKEND:
        raise BackupError(f"{backup} is a backup of a local home: restore it with `sportsflow --backend local "
                          "backup restore`")
    return manifest


def _object_path(folder: Path, name: str) -> Path:
    if name.startswith("/") or ".." in Path(name).parts:
        raise BackupError(f"object name {name!r} cannot be stored as a file")
    return folder / name


def _read_properties(backup: Path, kind: str) -> dict[str, Any]:
    path = backup / f"{kind}.properties.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _file_hashes(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    return {str(p.relative_to(root)): _sha256(p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()}


def _bucket_name(settings, kind: str) -> str:
    return settings.evidence_bucket if kind == "evidence" else settings.raw_bucket


def _document_hash(tagged_data: Any) -> str:
    return _sha256(_canonical(tagged_data))


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
