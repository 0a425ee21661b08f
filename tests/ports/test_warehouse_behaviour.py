"""Warehouse port behaviour: the same tests against DuckDB (always) and BigQuery (bqemulator)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

import pytest
from google.api_core import exceptions as google_errors

from shared.adapters.gcp.bigquery import BigQueryWarehouse, append_job_id
from shared.adapters.local.warehouse import DuckDBWarehouse
from shared.ports.warehouse import FieldSpec, SchemaMismatch, TableSpec, Warehouse, WarehouseError

GAME_DAY = date(2025, 1, 15)
NEXT_DAY = date(2025, 1, 16)


@pytest.fixture(params=["duckdb", pytest.param("bigquery", marks=pytest.mark.emulator)])
def warehouse(request: pytest.FixtureRequest, unique_name: str) -> Iterator[Warehouse]:
    if request.param == "duckdb":
        adapter = DuckDBWarehouse(":memory:")
    else:
        request.getfixturevalue("emulators")
        adapter = BigQueryWarehouse.from_env()
    yield adapter
    adapter.drop_dataset(unique_name)
    adapter.close()


@pytest.fixture
def spec(warehouse: Warehouse, unique_name: str) -> TableSpec:
    table = TableSpec(
        dataset=unique_name,
        name="player_games",
        fields=(
            FieldSpec("game_date", "DATE", "REQUIRED"),
            FieldSpec("player", "STRING", "REQUIRED"),
            FieldSpec("points", "INT64"),
            FieldSpec("minutes", "FLOAT64"),
            FieldSpec("starter", "BOOL"),
            FieldSpec("recorded_at", "TIMESTAMP"),
            FieldSpec("box", "JSON"),
        ),
        partition_field="game_date",
        clustering=("player",),
    )
    warehouse.ensure_table(table)
    return table


def game(player: str, points: int, day: date = GAME_DAY, **extra) -> dict:
    return {"game_date": day, "player": player, "points": points, **extra}


def table_rows(warehouse: Warehouse, spec: TableSpec) -> list[dict]:
    return warehouse.query(f"SELECT * FROM `{spec.qualified_name}` ORDER BY game_date, player, points")


def test_ensure_table_is_idempotent(warehouse: Warehouse, spec: TableSpec) -> None:
    warehouse.ensure_dataset(spec.dataset)
    warehouse.ensure_table(spec)
    warehouse.append_rows(spec, [game("ann", 10)], batch_id="b1")
    warehouse.ensure_table(spec)
    assert len(table_rows(warehouse, spec)) == 1


def test_append_to_a_table_never_ensured_fails(warehouse: Warehouse, spec: TableSpec) -> None:
    missing = TableSpec(spec.dataset, "never_created", spec.fields, partition_field="game_date")

    with pytest.raises(WarehouseError):
        warehouse.append_rows(missing, [game("ann", 1)], batch_id="b1")


def test_every_type_round_trips(warehouse: Warehouse, spec: TableSpec) -> None:
    full = game("ann", 31, minutes=35.5, starter=True,
                recorded_at=datetime(2025, 1, 15, 22, 30, 5, tzinfo=timezone.utc),
                box={"rebounds": 7, "tags": ["clutch"]})
    sparse = game("bob", 4)

    assert warehouse.append_rows(spec, [full, sparse], batch_id="b1") == 2

    assert table_rows(warehouse, spec) == [
        full, {**sparse, "minutes": None, "starter": None, "recorded_at": None, "box": None}]


def test_timestamps_come_back_in_utc(warehouse: Warehouse, spec: TableSpec) -> None:
    local_time = datetime(2025, 1, 15, 20, 0, tzinfo=timezone(timedelta(hours=-5)))
    warehouse.append_rows(spec, [game("ann", 1, recorded_at=local_time)], batch_id="b1")

    [row] = table_rows(warehouse, spec)

    assert row["recorded_at"] == local_time
    assert row["recorded_at"].utcoffset() == timedelta(0)


def test_a_repeated_batch_is_appended_once(warehouse: Warehouse, spec: TableSpec) -> None:
    batch = [game("ann", 10), game("bob", 12)]

    first = warehouse.append_rows(spec, batch, batch_id="feed-2025-01-15")
    again = warehouse.append_rows(spec, batch, batch_id="feed-2025-01-15")
    other = warehouse.append_rows(spec, [game("cid", 3)], batch_id="feed-2025-01-15-late")

    assert (first, again, other) == (2, 0, 1)
    assert [r["player"] for r in table_rows(warehouse, spec)] == ["ann", "bob", "cid"]


def test_replace_partition_twice_holds_exact_rows(warehouse: Warehouse, spec: TableSpec) -> None:
    warehouse.append_rows(spec, [game("ann", 1), game("old", 2), game("zed", 9, NEXT_DAY)], batch_id="b1")
    replacement = [game("ann", 20), game("bob", 22)]

    assert warehouse.replace_partition(spec, GAME_DAY, replacement) == 2
    assert warehouse.replace_partition(spec, GAME_DAY, replacement) == 2

    rows = table_rows(warehouse, spec)
    assert [(r["game_date"], r["player"], r["points"]) for r in rows] == [
        (GAME_DAY, "ann", 20), (GAME_DAY, "bob", 22), (NEXT_DAY, "zed", 9)]


def test_replace_partition_with_no_rows_empties_it(warehouse: Warehouse, spec: TableSpec) -> None:
    warehouse.append_rows(spec, [game("ann", 1), game("zed", 9, NEXT_DAY)], batch_id="b1")

    assert warehouse.replace_partition(spec, GAME_DAY, []) == 0

    assert [r["player"] for r in table_rows(warehouse, spec)] == ["zed"]


def test_replace_partition_refuses_rows_of_another_day(warehouse: Warehouse, spec: TableSpec) -> None:
    with pytest.raises(SchemaMismatch, match="game_date"):
        warehouse.replace_partition(spec, GAME_DAY, [game("zed", 9, NEXT_DAY)])


def test_parameterised_query(warehouse: Warehouse, spec: TableSpec) -> None:
    warehouse.append_rows(spec, [game("ann", 10), game("bob", 25), game("cid", 30), game("ann", 40, NEXT_DAY)],
                          batch_id="b1")

    rows = warehouse.query(
        f"SELECT player, points FROM `{spec.qualified_name}` "
        "WHERE game_date = @day AND points >= @min_points AND player IN UNNEST(@players) AND player != @excluded "
        "ORDER BY player",
        {"day": GAME_DAY, "min_points": 20, "players": ["ann", "bob", "cid"], "excluded": "cid"})

    assert rows == [{"player": "bob", "points": 25}]


@pytest.mark.parametrize("row, field", [
    ({"game_date": GAME_DAY, "player": "ann", "assists": 3}, "assists"),
    ({"game_date": GAME_DAY, "points": 3}, "player"),
    ({"game_date": GAME_DAY, "player": "ann", "points": "many"}, "points"),
    ({"game_date": "15/01/2025", "player": "ann"}, "game_date"),
    ({"game_date": GAME_DAY, "player": "ann", "starter": "maybe"}, "starter"),
    ({"game_date": GAME_DAY, "player": "ann", "box": {1, 2}}, "box"),
], ids=["unknown", "missing-required", "not-int", "not-date", "not-bool", "not-json"])
def test_schema_violations_name_the_field(warehouse: Warehouse, spec: TableSpec, row: dict, field: str) -> None:
    with pytest.raises(SchemaMismatch, match=repr(field)):
        warehouse.append_rows(spec, [game("ok", 1), row], batch_id="bad")

    assert table_rows(warehouse, spec) == []


def test_bigquery_dialect_gives_bigquery_answers(warehouse: Warehouse, spec: TableSpec) -> None:
    warehouse.append_rows(spec, [
        game("ann", 10, minutes=20.0), game("ann", 30, NEXT_DAY, minutes=0.0),
        game("bob", 5, minutes=10.0), game("bob", 15, NEXT_DAY, minutes=30.0),
        game("cid", 8, date(2025, 1, 1), minutes=16.0)], batch_id="b1")

    # COUNTIF is used as an aggregate: bqemulator 1.4 mistranslates COUNTIF(...) OVER (...).
    rows = warehouse.query(f"""
        WITH totals AS (
            SELECT player, COUNTIF(points >= 10) AS double_digit_games
            FROM `{spec.qualified_name}` GROUP BY player)
        SELECT games.player,
               games.game_date,
               SAFE_DIVIDE(games.points, games.minutes) AS points_per_minute,
               totals.double_digit_games,
               DATE_ADD(games.game_date, INTERVAL 1 DAY) AS next_day
        FROM `{spec.qualified_name}` AS games JOIN totals ON totals.player = games.player
        WHERE games.game_date >= DATE_SUB(@today, INTERVAL 2 DAY)
        QUALIFY ROW_NUMBER() OVER (PARTITION BY games.player ORDER BY games.game_date DESC) = 1
        ORDER BY games.player""", {"today": date(2025, 1, 17)})

    assert rows == [
        {"player": "ann", "game_date": NEXT_DAY, "points_per_minute": None, "double_digit_games": 2,
         "next_day": date(2025, 1, 17)},
        {"player": "bob", "game_date": NEXT_DAY, "points_per_minute": 0.5, "double_digit_games": 1,
         "next_day": date(2025, 1, 17)},
    ]


def test_concurrent_deliveries_of_one_batch_append_once(warehouse: Warehouse, spec: TableSpec) -> None:
    batch = [game(f"p{i}", i) for i in range(20)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        appended = list(pool.map(lambda _: warehouse.append_rows(spec, batch, batch_id="dup"), range(4)))

    assert sorted(appended) == [0, 0, 0, 20]
    assert len(table_rows(warehouse, spec)) == 20


# ---- BigQuery's production append path ------------------------------------------------------
# bqemulator ignores load job ids, so the job-id idempotency used against real BigQuery is
# shown here with a client double that keeps BigQuery's rule: a job id is used once per project.

class _Job:
    def __init__(self, job_id: str, rows: int, failure: str | None) -> None:
        self.job_id, self.output_rows, self._failure = job_id, rows, failure

    @property
    def error_result(self) -> dict | None:
        return {"reason": "invalid", "message": self._failure} if self._failure else None

    def result(self) -> "_Job":
        if self._failure:
            raise google_errors.BadRequest(self._failure)
        return self


class _JobIdClient:
    def __init__(self, failing_loads: int = 0) -> None:
        self.jobs: dict[str, _Job] = {}
        self._failing_loads = failing_loads

    def load_table_from_file(self, file_obj, destination, *, job_id, location, job_config) -> _Job:
        if job_id in self.jobs:
            raise google_errors.Conflict(f"Already Exists: Job {job_id}")
        failure = "bad input" if self._failing_loads > 0 else None
        self._failing_loads -= 1
        self.jobs[job_id] = _Job(job_id, len(file_obj.read().splitlines()), failure)
        return self.jobs[job_id]

    def get_job(self, job_id, *, location) -> _Job:
        return self.jobs[job_id]


def production_spec() -> TableSpec:
    return TableSpec("raw", "games", (FieldSpec("game_date", "DATE", "REQUIRED"), FieldSpec("player", "STRING")),
                     partition_field="game_date")


def test_bigquery_repeated_batch_hits_job_id_conflict_and_appends_nothing() -> None:
    client = _JobIdClient()
    warehouse = BigQueryWarehouse("prod", client=client)
    rows = [{"game_date": GAME_DAY, "player": "ann"}, {"game_date": GAME_DAY, "player": "bob"}]

    assert warehouse.append_rows(production_spec(), rows, batch_id="b1") == 2
    assert warehouse.append_rows(production_spec(), rows, batch_id="b1") == 0
    assert warehouse.append_rows(production_spec(), rows, batch_id="b2") == 2
    assert list(client.jobs) == [append_job_id(production_spec(), "b1"), append_job_id(production_spec(), "b2")]


def test_bigquery_batch_whose_load_failed_is_loaded_again_under_a_new_job_id() -> None:
    client = _JobIdClient(failing_loads=1)
    warehouse = BigQueryWarehouse("prod", client=client)
    rows = [{"game_date": GAME_DAY, "player": "ann"}]

    with pytest.raises(WarehouseError, match="bad input"):
        warehouse.append_rows(production_spec(), rows, batch_id="b1")
    assert warehouse.append_rows(production_spec(), rows, batch_id="b1") == 1
    assert warehouse.append_rows(production_spec(), rows, batch_id="b1") == 0

    first = append_job_id(production_spec(), "b1")
    assert list(client.jobs) == [first, f"{first}_r1"]
