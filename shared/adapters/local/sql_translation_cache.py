"""A persistent cache of BigQuery → DuckDB translations, shared by every process on the machine.

Translating a statement with sqlglot costs milliseconds (and importing sqlglot ~150 ms); the
pipeline's statements never change between processes, so each is translated once and kept in
`$SPORTSFLOW_SQL_CACHE` (default `~/.cache/sportsflow/sql`), one JSON file per statement.

An entry can never be stale: its key is the SHA-256 of the statement text, the installed
sqlglot's version file and the translator's own source (`bigquery_sql.py`), so a new sqlglot or
a changed translation rule is a different key; and an entry is served only if it names that
same key and holds that exact statement text (a torn or foreign file is a miss, translated
again and overwritten). Files are written to a temporary name and renamed, so a reader never
sees half an entry.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Callable, NamedTuple

log = logging.getLogger("sportsflow.adapters.sql_cache")
TRANSLATOR_SOURCE = Path(__file__).with_name("bigquery_sql.py")


class CachedTranslation(NamedTuple):
    sql: str
    parameters: tuple[str, ...]


def cache_dir() -> Path:
    return Path(os.environ.get("SPORTSFLOW_SQL_CACHE", "~/.cache/sportsflow/sql")).expanduser()


@lru_cache(maxsize=1)
def translator_identity() -> str:
    """What a translation depends on besides the statement: sqlglot's version and our rules."""
    return hashlib.sha256(_sqlglot_version().encode() + b"\0" + TRANSLATOR_SOURCE.read_bytes()).hexdigest()


def entry_key(sql: str, identity: str | None = None) -> str:
    return hashlib.sha256((identity or translator_identity()).encode() + b"\0" + sql.encode()).hexdigest()


def cached_translation(sql: str, translate: Callable[[str], CachedTranslation]) -> CachedTranslation:
    """`translate(sql)` through the persistent cache."""
    key = entry_key(sql)
    path = cache_dir() / f"{key}.json"
    found = _read(path, key, sql)
    if found is not None:
        return found
    translated = translate(sql)
    _write(path, {"key": key, "source": sql, "sql": translated.sql, "parameters": list(translated.parameters)})
    return translated


def _sqlglot_version() -> str:
    """sqlglot's version without importing it (the import is what the cache saves)."""
    spec = importlib.util.find_spec("sqlglot")
    if spec is None or not spec.submodule_search_locations:
        return "sqlglot-not-installed"
    package = Path(next(iter(spec.submodule_search_locations)))
    version_file = package / "_version.py"
    if version_file.exists():
        return f"{package}\0{version_file.read_text()}"
    from importlib.metadata import version
    return f"{package}\0{version('sqlglot')}"


def _read(path: Path, key: str, sql: str) -> CachedTranslation | None:
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key or entry.get("source") != sql:
        return None
    if not isinstance(entry.get("sql"), str) or not isinstance(entry.get("parameters"), list):
        return None
    return CachedTranslation(entry["sql"], tuple(entry["parameters"]))


def _write(path: Path, entry: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".tmp-", suffix=".json",
                                         delete=False) as handle:
            json.dump(entry, handle)
        os.replace(handle.name, path)
    except OSError as err:  # a read-only home only costs the next process a translation
        log.debug("sql translation not cached", extra={"fields": {"path": str(path), "error": str(err)}})
