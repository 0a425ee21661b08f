"""The persistent SQL translation cache never serves a translation that is not the one a fresh
translation would give now."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.adapters.local import bigquery_sql, sql_translation_cache
from shared.adapters.local.sql_translation_cache import CachedTranslation, cached_translation, entry_key

SQL = "SELECT DATE_ADD(day, INTERVAL 1 DAY) AS next_day FROM `p.raw.games` WHERE day = @day"


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPORTSFLOW_SQL_CACHE", str(tmp_path))
    sql_translation_cache.translator_identity.cache_clear()
    yield tmp_path
    sql_translation_cache.translator_identity.cache_clear()


class CountingTranslator:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, sql: str) -> CachedTranslation:
        self.calls += 1
        return bigquery_sql.translate(sql)


def test_a_statement_is_translated_once_and_then_read_back_identically(cache: Path) -> None:
    translator = CountingTranslator()

    first = cached_translation(SQL, translator)
    second = cached_translation(SQL, translator)

    assert translator.calls == 1
    assert first == second == bigquery_sql.translate(SQL)
    assert len(list(cache.glob("*.json"))) == 1


def test_another_sqlglot_version_is_another_key(monkeypatch: pytest.MonkeyPatch) -> None:
    translator = CountingTranslator()
    cached_translation(SQL, translator)

    monkeypatch.setattr(sql_translation_cache, "_sqlglot_version", lambda: "sqlglot 99.0.0")
    sql_translation_cache.translator_identity.cache_clear()
    cached_translation(SQL, translator)

    assert translator.calls == 2


def test_a_changed_translation_rule_is_another_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    translator = CountingTranslator()
    cached_translation(SQL, translator)
    edited = tmp_path / "bigquery_sql.py"
    edited.write_text(sql_translation_cache.TRANSLATOR_SOURCE.read_text() + "\n# a new rule\n")

    monkeypatch.setattr(sql_translation_cache, "TRANSLATOR_SOURCE", edited)
    sql_translation_cache.translator_identity.cache_clear()
    cached_translation(SQL, translator)

    assert translator.calls == 2


@pytest.mark.parametrize("damage", [
    lambda entry: "{not json",
    lambda entry: json.dumps({**entry, "source": "SELECT 2"}),  # another statement under this key
    lambda entry: json.dumps({**entry, "key": "0" * 64}),
    lambda entry: json.dumps({k: v for k, v in entry.items() if k != "sql"}),
    lambda entry: "",
])
def test_a_torn_or_foreign_entry_is_a_miss_and_is_rewritten(cache: Path, damage) -> None:
    translator = CountingTranslator()
    cached_translation(SQL, translator)
    path = cache / f"{entry_key(SQL)}.json"
    path.write_text(damage(json.loads(path.read_text())))

    served = cached_translation(SQL, translator)

    assert translator.calls == 2
    assert served == bigquery_sql.translate(SQL)
    assert json.loads(path.read_text())["sql"] == served.sql


def test_a_statement_that_cannot_be_translated_is_never_cached(cache: Path) -> None:
    from shared.ports.warehouse import WarehouseError

    with pytest.raises(WarehouseError):
        cached_translation("SELECT 1; SELECT 2", bigquery_sql.translate)
    assert list(cache.glob("*.json")) == []


def test_an_unwritable_cache_only_costs_a_translation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SPORTSFLOW_SQL_CACHE", str(blocker / "sql"))

    assert cached_translation(SQL, bigquery_sql.translate) == bigquery_sql.translate(SQL)


def test_a_process_served_from_the_cache_never_imports_sqlglot(cache: Path) -> None:
    cached_translation(SQL, bigquery_sql.translate)
    script = ("import sys; from shared.adapters.local.bigquery_sql import to_duckdb; "
              f"print(to_duckdb({SQL!r}).sql); print('sqlglot' in sys.modules)")

    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={**_env(), "SPORTSFLOW_SQL_CACHE": str(cache)}).stdout.splitlines()

    assert out == [bigquery_sql.translate(SQL).sql, "False"]


def _env() -> dict[str, str]:
    import os
    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
