"""Embedded warehouse (DuckDB) micro benchmark: what one small exactly-once append costs.

Each measurement runs in a child process on a fresh database file, with the ledger already
holding `--ledger` batches (a season holds ~45k: one a player and date):

- append: one player's 8 prediction rows with their ledger claim, one transaction, committed;
- duplicate: the same batch delivered again (appends nothing);
- run history: one flush of 10 staged processor_run_history rows (one statement), per row;
- replace 50k: one partition of 50,000 rows replaced.

`--baseline DIR` runs the same measurements with the code of another checkout (e.g. main),
interleaved A B A B so both see the same machine, and prints the ratios this/baseline.

Usage: python scripts/bench_warehouse.py [--rounds 5] [--appends 200] [--ledger 45000] [--baseline DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEASURES = ("append", "duplicate", "run history", "replace 50k")

CHILD = r'''
import json, sys, time, statistics
from datetime import date, datetime, timedelta, timezone
from shared.adapters.local.warehouse import DuckDBWarehouse
from shared.pipeline.run_history import RUN_HISTORY_TABLE
from shared.predictions.tables import PLAYER_PROP_PREDICTIONS as PREDICTIONS
from shared.ports.warehouse import FieldSpec, TableSpec

path, appends, ledger = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
DAY = date(2025, 1, 15)
warehouse = DuckDBWarehouse(path)
for spec in (PREDICTIONS, RUN_HISTORY_TABLE):
    warehouse.ensure_table(spec)
warehouse._connection.execute(
    "INSERT INTO _sportsflow.applied_batches (table_name, batch_id, row_count) "
    f"SELECT 'nba_predictions.player_prop_predictions', 'earlier-' || md5(i::VARCHAR), 8 FROM range({ledger}) t(i)")
warehouse._connection.execute("CHECKPOINT")

def player_rows(player):
    return [{"game_date": DAY, "game_id": "0022400555", "player_id": player, "player_name": "A Player",
             "team_abbr": "BOS", "market": market, "system": system, "model_version": "m" * 16,
             "feature_version": "v2", "feature_data_version": "d" * 16, "batch_id": "batch-1",
             "prediction": 12.5, "interval_low": 8.0, "interval_high": 17.0, "line": None,
             "top_features": '[["minutes", 1.5]]'}
            for market in ("points", "rebounds", "assists", "threes") for system in ("baseline", "gbm")]

def timed(call):
    started = time.perf_counter()
    call()
    return time.perf_counter() - started

batches = [(f"batch-1:{player}:0022400555", player_rows(player)) for player in range(appends)]
append = [timed(lambda: warehouse.append_rows(PREDICTIONS, rows, batch_id=batch)) for batch, rows in batches]
duplicate = [timed(lambda: warehouse.append_rows(PREDICTIONS, rows, batch_id=batch)) for batch, rows in batches[:50]]
now = datetime(2025, 1, 16, 3, tzinfo=timezone.utc)
def attempts(run):
    return [{"analysis_date": DAY, "processor": f"p{i}", "phase": 3, "run_key": "k", "run_id": f"r{run}",
             "correlation_id": "c", "status": "succeeded", "records": 10, "started_at": now,
             "finished_at": now + timedelta(seconds=1), "error": None, "data_version": "v", "fence": 1}
            for i in range(10)]
history = [timed(lambda: warehouse.append_unique(RUN_HISTORY_TABLE, attempts(run),
                                                 key=("run_id", "processor", "run_key", "status"))) / 10
           for run in range(50)]
big = TableSpec("bench", "wide", tuple(FieldSpec(f"c{i}", t) for i, t in enumerate(
    ["DATE", "STRING", "INT64", "FLOAT64", "STRING", "FLOAT64", "BOOL", "STRING"])), partition_field="c0")
warehouse.ensure_table(big)
big_rows = [{"c0": DAY, "c1": f"s{i}", "c2": i, "c3": i * 0.5, "c4": "x" * 12, "c5": 1.0, "c6": i % 2 == 0,
             "c7": None} for i in range(50_000)]
replace = [timed(lambda: warehouse.replace_partition(big, DAY, big_rows)) for _ in range(3)]
assert warehouse.query("SELECT COUNT(*) AS n FROM nba_predictions.player_prop_predictions")[0]["n"] == 8 * appends
warehouse.close()
print(json.dumps({"append": statistics.median(append), "duplicate": statistics.median(duplicate),
                  "run history": statistics.median(history), "replace 50k": statistics.median(replace)}))
'''


def measure(code: Path, appends: int, ledger: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="sportsflow-bench-warehouse-") as scratch:
        env = {**os.environ, "PYTHONPATH": str(code)}
        done = subprocess.run([sys.executable, "-c", CHILD, str(Path(scratch) / "warehouse.duckdb"), str(appends),
                               str(ledger)], env=env, cwd=code, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"the benchmark failed with the code of {code}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # the child's last line: its medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--ledger", type=int, default=45_000, help="batches already in the ledger")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with, interleaved")
    args = parser.parse_args()
    codes = [REPO] + ([args.baseline.resolve()] if args.baseline else [])
    runs: dict[Path, list[dict[str, float]]] = {code: [] for code in codes}
    for _ in range(args.rounds):
        for code in codes:
            runs[code].append(measure(code, args.appends, args.ledger))
    print(f"load average {os.getloadavg()[0]:.1f}; medians of {args.rounds} rounds (each a median of its calls)")
    for name in MEASURES:
        ours = statistics.median(run[name] for run in runs[REPO])
        line = f"{name:12s} {ours * 1e3:8.2f} ms"
        if args.baseline:
            theirs = statistics.median(run[name] for run in runs[codes[1]])
            line += f"   baseline {theirs * 1e3:8.2f} ms   ratio {ours / theirs:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
