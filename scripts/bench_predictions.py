"""Prediction throughput: player rows per second through all five systems and four markets.

One call per batch, timed over several runs, for each path: `ModelSet.predict_columns(rows)`
(the batch path the worker uses: numpy arrays per field) and `ModelSet.predict(rows)` (the same
values as 20 frozen Prediction objects per row). A player-prediction is one ml_feature_store_v2
row predicted by every system in every market (5 × 4 = 20 values with intervals and top
features). Target: ≥ 5,000 player-predictions/s in one process. Reports wall time and this
process's CPU time (on a machine shared with other work, wall time measures the neighbours as
much as the code).

    python scripts/bench_predictions.py [--home PATH --date D] [--batch 5000] [--runs 7] [--path columns]

With --home (a backfilled home, e.g. `sportsflow backfill --source replay:../shared/data`) the
models are trained through D − 1 (reused when already stored) and D's real feature rows are
predicted, repeated to fill the batch; without it a small seeded season is written to a
temporary home first.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.bootstrap import Services  # noqa: E402
from shared.config import Settings  # noqa: E402
from shared.predictions import model_registry  # noqa: E402
from shared.predictions.systems import MARKETS, SYSTEMS  # noqa: E402

TARGET = 5000
FEATURE_ROWS = "SELECT * FROM nba_precompute.ml_feature_store_v2 WHERE game_date = @d ORDER BY player_id"


def _rows_and_models(home: Path | None, day: date | None):
    if home is None:
        from tests.predictions.season import write_season
        home = Path(tempfile.mkdtemp(prefix="bench-predictions-")) / "home"
        services = Services(Settings.from_env({}, home=home))
        season = write_season(services.warehouse)
        day = season.day(len(season.days) - 1)
    else:
        services = Services(Settings.from_env({}, home=home))
    model_registry.train(services, day - timedelta(days=1), mark_current=False)
    models = model_registry.load_for_date(services, day)
    rows = services.warehouse.query(FEATURE_ROWS, {"d": day})
    services.close()
    if not rows:
        raise SystemExit(f"no ml_feature_store_v2 rows on {day} in {home}: backfill that date first")
    return rows, models, day


def _timed(call, batch, runs: int) -> tuple[list[float], list[float], int]:
    seconds, cpu_seconds = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        predictions = call(batch)
        seconds.append(time.perf_counter() - began)
        cpu_seconds.append(time.process_time() - began_cpu)
    return seconds, cpu_seconds, len(predictions)


def _report(path: str, rows: int, seconds: list[float], cpu_seconds: list[float]) -> None:
    median, cpu = statistics.median(seconds), statistics.median(cpu_seconds)
    verdict = "meets" if rows / cpu >= TARGET else "misses"
    print(f"{path}: wall median {median * 1000:.0f} ms (min {min(seconds) * 1000:.0f}, max {max(seconds) * 1000:.0f})"
          f" = {rows / median:,.0f} player-predictions/s; CPU median {cpu * 1000:.0f} ms"
          f" (min {min(cpu_seconds) * 1000:.0f}) = {rows / cpu:,.0f} player-predictions per CPU-second"
          f" ({verdict} the {TARGET:,}/s target on one uncontended core)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="a backfilled SPORTSFLOW_HOME (default: a seeded small season)")
    parser.add_argument("--date", type=date.fromisoformat, help="the date whose rows are predicted (with --home)")
    parser.add_argument("--batch", type=int, default=5000, help="player rows per predict call")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--path", choices=("columns", "objects", "both"), default="both",
                        help="predict_columns (arrays), predict (Prediction objects) or both")
    args = parser.parse_args()
    if args.home and not args.date:
        parser.error("--home needs --date")
    rows, models, day = _rows_and_models(args.home, args.date)
    batch = (rows * (args.batch // len(rows) + 1))[:args.batch]
    assert set(models.versions) == set(SYSTEMS), f"not every system is trained: {models.skipped}"
    models.predict(batch[:100])                                   # warm-up
    print(f"{len(rows)} distinct feature rows of {day}, batch of {len(batch)}, {args.runs} runs, "
          f"all {len(SYSTEMS)} systems × {len(MARKETS)} markets")
    paths = {"columns": models.predict_columns, "objects": models.predict}
    for path in (paths if args.path == "both" else (args.path,)):
        seconds, cpu_seconds, values = _timed(paths[path], batch, args.runs)
        assert values == len(batch) * len(SYSTEMS) * len(MARKETS)
        _report(path, len(batch), seconds, cpu_seconds)
    print("wall time is higher than CPU time on a shared machine: the CPU figure is what one core does")


if __name__ == "__main__":
    main()
