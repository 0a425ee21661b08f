"""BigQuery Standard SQL as the embedded warehouse runs it, and typed BigQuery parameters."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from shared.adapters.gcp.bigquery import query_parameter
from shared.adapters.local.bigquery_sql import to_duckdb
from shared.adapters.local.warehouse import DuckDBWarehouse
from shared.ports.warehouse import WarehouseError


@pytest.fixture(scope="module")
def duckdb_warehouse():
    warehouse = DuckDBWarehouse(":memory:")
    yield warehouse
    warehouse.close()


def test_project_qualifier_is_dropped_and_dataset_becomes_schema() -> None:
    assert to_duckdb("SELECT * FROM `my-project.raw.games`").sql == 'SELECT * FROM "raw"."games"'
    assert to_duckdb("SELECT * FROM `raw.games`").sql == 'SELECT * FROM "raw"."games"'
    assert to_duckdb("SELECT * FROM raw.games").sql == "SELECT * FROM raw.games"


def test_named_parameters_become_duckdb_parameters_listed_once() -> None:
    translated = to_duckdb("SELECT * FROM raw.games WHERE day = @day AND team = @team OR day > @day")

    assert "$day" in translated.sql and "$team" in translated.sql and "@" not in translated.sql
    assert sorted(translated.parameters) == ["day", "team"]


def test_bigquery_functions_are_rewritten() -> None:
    sql = to_duckdb("SELECT SAFE_DIVIDE(a, b), COUNTIF(a > 1), IFNULL(a, 0) FROM raw.t").sql

    assert "CASE WHEN b <> 0 THEN a / b ELSE NULL END" in sql
    assert "COUNT_IF(a > 1)" in sql
    assert "COALESCE(a, 0)" in sql


def test_date_arithmetic_stays_a_date() -> None:
    sql = to_duckdb("SELECT DATE_ADD(DATE_SUB(@d, INTERVAL 1 DAY), INTERVAL 2 DAY)").sql

    assert sql.count("AS DATE)") == 2


def test_translations_are_cached() -> None:
    sql = "SELECT 1 AS cached_translation_probe"

    assert to_duckdb(sql) is to_duckdb(sql)


@pytest.mark.parametrize("sql", ["SELECT 1; SELECT 2", "SELEC nothing FROM", ""])
def test_anything_but_one_statement_is_refused(sql: str) -> None:
    with pytest.raises(WarehouseError):
        to_duckdb(sql)


@pytest.mark.parametrize("sql, params, expected", [
    ("SELECT DATE_SUB(DATE '2024-03-01', INTERVAL 1 DAY) AS v", {}, date(2024, 2, 29)),
    ("SELECT DATE_ADD(@d, INTERVAL 1 MONTH) AS v", {"d": date(2025, 1, 31)}, date(2025, 2, 28)),
    ("SELECT DATE_TRUNC(@d, MONTH) AS v", {"d": date(2025, 1, 31)}, date(2025, 1, 1)),
    ("SELECT DATE_DIFF(DATE '2025-01-31', @d, DAY) AS v", {"d": date(2025, 1, 1)}, 30),
    ("SELECT SAFE_DIVIDE(1, 0) AS v", {}, None),
    ("SELECT SAFE_DIVIDE(3, 4) AS v", {}, 0.75),
    ("SELECT 1.5 * 2 AS v", {}, 3.0),
    ("SELECT FORMAT_DATE('%Y%m%d', @d) AS v", {"d": date(2025, 1, 5)}, "20250105"),
    ("SELECT CAST('42' AS INT64) AS v", {}, 42),
    ("SELECT TIMESTAMP_TRUNC(@t, HOUR) AS v", {"t": datetime(2025, 1, 5, 7, 45, tzinfo=timezone.utc)},
     datetime(2025, 1, 5, 7, 0, tzinfo=timezone.utc)),
    ("SELECT 3 IN UNNEST(@ids) AS v", {"ids": [1, 2, 3]}, True),
    ("SELECT ARRAY_LENGTH(@ids) AS v", {"ids": ("a", "b")}, 2),
    ("SELECT JSON_VALUE(JSON '{\"a\": {\"b\": 7}}', '$.a.b') AS v", {}, "7"),
])
def test_translated_sql_gives_bigquery_results(duckdb_warehouse: DuckDBWarehouse, sql: str, params: dict,
                                              expected: object) -> None:
    [row] = duckdb_warehouse.query(sql, params)

    assert row["v"] == expected
    assert type(row["v"]) is type(expected)


def test_missing_parameter_is_named(duckdb_warehouse: DuckDBWarehouse) -> None:
    with pytest.raises(WarehouseError, match="@team"):
        duckdb_warehouse.query("SELECT @team AS v", {"other": 1})


@pytest.mark.parametrize("value, expected_type", [
    (True, "BOOL"), (7, "INT64"), (1.5, "FLOAT64"), ("x", "STRING"), (Decimal("1.10"), "NUMERIC"),
    (date(2025, 1, 1), "DATE"), (datetime(2025, 1, 1, tzinfo=timezone.utc), "TIMESTAMP"), (None, "STRING"),
])
def test_scalar_query_parameters_are_typed_from_python(value: object, expected_type: str) -> None:
    parameter = query_parameter("p", value)

    assert (parameter.name, parameter.type_, parameter.value) == ("p", expected_type, value)


def test_list_becomes_array_parameter_typed_by_its_elements() -> None:
    dates = query_parameter("days", [None, date(2025, 1, 1)])
    empty = query_parameter("none", [])

    assert (dates.array_type, dates.values) == ("DATE", [None, date(2025, 1, 1)])
    assert (empty.array_type, empty.values) == ("STRING", [])


def test_unsupported_parameter_type_is_refused() -> None:
    with pytest.raises(WarehouseError, match="bytes"):
        query_parameter("p", b"raw")
