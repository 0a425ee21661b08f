"""BigQuery Standard SQL → DuckDB SQL, for the embedded warehouse.

sqlglot does the dialect work; on top of it we make the few changes that keep results
the same as BigQuery's for the SQL we write:

- `project.dataset.table` loses its project: locally a dataset is a DuckDB schema.
- `@name` parameters become DuckDB `$name` parameters; their names are reported so the
  caller binds exactly those (DuckDB rejects unused named parameters).
- BigQuery's DATE_ADD/DATE_SUB/DATE_TRUNC return DATE; DuckDB's date ± interval returns a
  TIMESTAMP, so these are cast back to DATE.

Translations are cached: in memory per process, and on disk across processes
(shared.adapters.local.sql_translation_cache, keyed by statement, sqlglot version and this
file), so sqlglot is imported and a statement translated only when the cache has no entry.
"""
from __future__ import annotations

from functools import lru_cache

from shared.adapters.local.sql_translation_cache import CachedTranslation, cached_translation
from shared.ports.warehouse import WarehouseError

TranslatedQuery = CachedTranslation


def to_duckdb(sql: str) -> TranslatedQuery:
    """One BigQuery statement as DuckDB SQL plus the parameter names it uses."""
    return _cached(sql)


@lru_cache(maxsize=512)
def _cached(sql: str) -> TranslatedQuery:
    return cached_translation(sql, translate)


def translate(sql: str) -> TranslatedQuery:
    """The translation itself (no cache)."""
    from sqlglot import exp

    statement = _parse_single_statement(sql)
    _drop_project_qualifiers(statement)
    _keep_date_results_dates(statement)
    names = tuple(dict.fromkeys(p.name for p in statement.find_all(exp.Parameter)))
    return TranslatedQuery(statement.sql(dialect="duckdb"), names)


def _parse_single_statement(sql: str):
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        statements = [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
    except SqlglotError as err:
        raise WarehouseError(f"cannot parse BigQuery SQL: {err}") from err
    if len(statements) != 1:
        raise WarehouseError(f"expected one SQL statement, got {len(statements)}")
    return statements[0]


def _drop_project_qualifiers(statement) -> None:
    from sqlglot import exp

    for table in statement.find_all(exp.Table):
        table.set("catalog", None)


def _keep_date_results_dates(statement) -> None:
    from sqlglot import exp

    # Innermost first, so an outer call's copy already holds its rewritten arguments.
    # DATE_TRUNC is taken as BigQuery's DATE form; TIMESTAMP_TRUNC parses as another node.
    for node in reversed(list(statement.find_all(exp.DateAdd, exp.DateSub, exp.DateTrunc))):
        node.replace(exp.cast(node.copy(), exp.DataType.build("DATE")))
