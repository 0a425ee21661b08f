"""Prediction throughput: player rows per second through all five systems and four markets.

One `ModelSet.predict(rows)` call per batch (what a worker does), timed over several runs;
a player-prediction is one ml_feature_store_v2 row predicted by every system in every market
(5 × 4 = 20 Prediction objects). Target: ≥ 5,000 player-predictions/s in one process.
Reports wall time and this process's CPU time (on a machine shared with other work, wall time
measures the neighbours as much as the code).

    python scripts/bench_predictions.py [--home PATH --date D] [--batch 5000] [--runs 7]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="a backfilled SPORTSFLOW_HOME (default: a seeded small season)")
    parser.add_argument("--date", type=date.fromisoformat, help="the date whose rows are predicted (with --home)")
    parser.add_argument("--batch", type=int, default=5000, help="player rows per predict call")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if args.home and not args.date:
        parser.error("--home needs --date")
    rows, models, day = _rows_and_models(args.home, args.date)
    batch = (rows * (args.batch // len(rows) + 1))[:args.batch]
    assert set(models.versions) == set(SYSTEMS), f"not every system is trained: {models.skipped}"
    models.predict(batch[:100])                                   # warm-up
    seconds, cpu_seconds = [], []
    for _ in range(args.runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        predictions = models.predict(batch)
        seconds.append(time.perf_counter() - began)
        cpu_seconds.append(time.process_time() - began_cpu)
    assert len(predictions) == len(batch) * len(SYSTEMS) * len(MARKETS)
    median, cpu = statistics.median(seconds), statistics.median(cpu_seconds)
    print(f"{len(rows)} distinct feature rows of {day}, batch of {len(batch)}, {args.runs} runs")
    print(f"predict: median {median * 1000:.0f} ms (min {min(seconds) * 1000:.0f}, max {max(seconds) * 1000:.0f})")
    print(f"throughput: {len(batch) / median:,.0f} player-predictions/s (all {len(SYSTEMS)} systems × "
          f"{len(MARKETS)} markets), {len(predictions) / median:,.0f} Prediction objects/s")
    print(f"CPU time: median {cpu * 1000:.0f} ms per batch = {len(batch) / cpu:,.0f} player-predictions per CPU-second "
          "(what one uncontended core does; wall time is higher on a shared machine)")


if __name__ == "__main__":
    main()
