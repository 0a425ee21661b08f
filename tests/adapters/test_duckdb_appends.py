"""The embedded warehouse's exactly-once append, one transaction of a ledger claim and an
appender flush: a process killed between the two, a duplicate, a failed flush and concurrent
appenders never leave rows without their ledger row or the reverse."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from shared.adapters.local.warehouse import DuckDBWarehouse
from shared.ports.warehouse import FieldSpec, TableSpec, WarehouseError
from shared.runtime import crash_points

DAY = date(2025, 1, 15)
SPEC = TableSpec("bets", "picks", (FieldSpec("game_date", "DATE", "REQUIRED"),
                                   FieldSpec("player", "STRING", "REQUIRED"),
                                   FieldSpec("points", "INT64"), FieldSpec("box", "JSON")),
                 partition_field="game_date")
REPO = Path(__file__).resolve().parents[2]


def picks(batch: str, count: int = 8) -> list[dict]:
    return [{"game_date": DAY, "player": f"{batch}-{i}", "points": i, "box": {"i": i}} for i in range(count)]


def held(warehouse: DuckDBWarehouse) -> tuple[list[str], list[tuple[str, int]]]:
    """The table's players and the ledger's (batch, row count) for the table."""
    players = [row["player"] for row in warehouse.query("SELECT player FROM bets.picks ORDER BY player")]
    ledger = warehouse._connection.execute(
        "SELECT batch_id, row_count FROM _sportsflow.applied_batches WHERE table_name = ? ORDER BY batch_id",
        [SPEC.qualified_name]).fetchall()
    return players, ledger


@pytest.fixture
def warehouse(tmp_path: Path):
    adapter = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    adapter.ensure_table(SPEC)
    yield adapter
    adapter.close()


CHILD = textwrap.dedent("""
    import sys
    from datetime import date
    from shared.adapters.local.warehouse import DuckDBWarehouse
    from shared.runtime import crash_points
    from tests.adapters.test_duckdb_appends import SPEC, picks

    crash_points.install(crash_points.KillAt.from_env())
    warehouse = DuckDBWarehouse(sys.argv[1])
    warehouse.ensure_table(SPEC)
    for batch in sys.argv[2:]:
        warehouse.append_rows(SPEC, picks(batch), batch_id=batch)
    warehouse.close()
""")


def append_in_child(path: Path, *batches: str, kill_at: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPORTSFLOW_KILL_AT": kill_at}
    return subprocess.run([sys.executable, "-c", CHILD, str(path), *batches], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_a_process_killed_between_the_claim_and_the_rows_leaves_neither(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    killed = append_in_child(path, "b1", "b2", kill_at=f"{crash_points.WAREHOUSE_BATCH_CLAIMED}:2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    warehouse = DuckDBWarehouse(path)
    try:
        players, ledger = held(warehouse)
        assert ledger == [("b1", 8)]  # b2's claim died with its transaction
        assert players == sorted(p["player"] for p in picks("b1"))
        assert warehouse.append_rows(SPEC, picks("b2"), batch_id="b2") == 8  # redelivered: applied now
        assert warehouse.append_rows(SPEC, picks("b2"), batch_id="b2") == 0  # and once only
        players, ledger = held(warehouse)
        assert ledger == [("b1", 8), ("b2", 8)]
        assert len(players) == 16
    finally:
        warehouse.close()


def test_a_duplicate_appends_nothing_and_the_next_batch_still_appends(warehouse: DuckDBWarehouse) -> None:
    assert warehouse.append_rows(SPEC, picks("b1"), batch_id="b1") == 8
    assert warehouse.append_rows(SPEC, picks("b1", count=3), batch_id="b1") == 0  # other rows, same batch
    assert warehouse.append_rows(SPEC, picks("b2"), batch_id="b2") == 8

    players, ledger = held(warehouse)
    assert ledger == [("b1", 8), ("b2", 8)]
    assert len(players) == 16


def test_the_same_batch_id_in_another_table_is_its_own_batch(warehouse: DuckDBWarehouse) -> None:
    other = TableSpec("bets", "other_picks", SPEC.fields, partition_field="game_date")
    warehouse.ensure_table(other)

    assert warehouse.append_rows(SPEC, picks("b1"), batch_id="b1") == 8
    assert warehouse.append_rows(other, picks("b1"), batch_id="b1") == 8


def test_a_failed_flush_records_no_batch_and_a_retry_appends_once(warehouse: DuckDBWarehouse) -> None:
    assert warehouse.append_rows(SPEC, picks("b1"), batch_id="b1") == 8  # the table's appender is cached
    warehouse.query("DROP TABLE bets.picks")  # behind the adapter's back

    with pytest.raises(WarehouseError):
        warehouse.append_rows(SPEC, picks("b2"), batch_id="b2")
    warehouse.ensure_table(SPEC)

    assert warehouse.append_rows(SPEC, picks("b2"), batch_id="b2") == 8  # its claim was rolled back
    players, ledger = held(warehouse)
    assert players == sorted(p["player"] for p in picks("b2"))
    assert ledger == [("b1", 8), ("b2", 8)]


def test_concurrent_appenders_of_many_batches_append_each_once(warehouse: DuckDBWarehouse) -> None:
    batches = [f"b{i:02d}" for i in range(24)] * 3  # every batch delivered three times, threads racing

    with ThreadPoolExecutor(max_workers=6) as pool:
        appended = list(pool.map(lambda batch: warehouse.append_rows(SPEC, picks(batch), batch_id=batch), batches))

    assert sum(appended) == 24 * 8
    players, ledger = held(warehouse)
    assert len(players) == len(set(players)) == 24 * 8
    assert ledger == [(f"b{i:02d}", 8) for i in range(24)]


def test_rows_committed_by_an_append_are_there_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    warehouse = DuckDBWarehouse(path)
    warehouse.ensure_table(SPEC)
    warehouse.append_rows(SPEC, picks("b1"), batch_id="b1")
    warehouse.close()

    reopened = DuckDBWarehouse(path)
    try:
        players, ledger = held(reopened)
        assert ledger == [("b1", 8)] and len(players) == 8
        assert reopened.query("SELECT box FROM bets.picks WHERE player = 'b1-3'") == [{"box": {"i": 3}}]
    finally:
        reopened.close()


def test_chaos_never_fires_inside_a_warehouse_transaction() -> None:
    """The point is for kill tests: a --chaos run neither crashes there nor draws for it, so its
    seeded crashes are the ones it drew before the point existed."""
    quiet, reached = crash_points.SeededCrashes(seed=3), crash_points.SeededCrashes(seed=3)
    always = crash_points.SeededCrashes(seed=3, probability=1.0)

    always.at(crash_points.WAREHOUSE_BATCH_CLAIMED, {"target": "b1"})  # no SimulatedCrash
    draws = []
    for injector in (quiet, reached):
        if injector is reached:
            injector.at(crash_points.WAREHOUSE_BATCH_CLAIMED, {"target": "b1"})
        draws.append([injector._random.random() for _ in range(5)])
    assert draws[0] == draws[1]
