"""Pipeline benchmarks on the embedded backend (issue 4 targets):

- one day end to end (scrape → Phases 2–4 → report), fresh state each run: target < 5 s
- the whole 2024-25 regular season as a `backfill` over replay data: target < 5 min wall, < 1 GiB peak

Usage: python scripts/bench_pipeline.py [--data ../shared/data] [--day-runs 5] [--skip-season]
Each measurement runs the real CLI in a child process with its own SPORTSFLOW_HOME.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEASON = ("2024-10-22", "2025-04-13")
DAY = "2025-01-15"


def timed(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of the CLI run in a child process with a fresh home."""
    with tempfile.TemporaryDirectory(prefix="sportsflow-bench-") as home:
        env = {**os.environ, "SPORTSFLOW_HOME": home}
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "shared.cli.app", *args], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the max over all children so far: report it only when it rose.
    return wall, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--day-runs", type=int, default=5)
    parser.add_argument("--skip-season", action="store_true")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"replay data not found at {args.data}: pass --data")
    source = f"replay:{args.data}"
    days = [timed(["run", "--date", DAY, "--source", source, "--json"])[0] for _ in range(args.day_runs)]
    print(f"one day ({DAY}, replay, embedded, process start included): median {statistics.median(days):.2f} s, "
          f"min {min(days):.2f} s, max {max(days):.2f} s over {len(days)} runs (target < 5 s)")
    if not args.skip_season:
        wall, peak = timed(["backfill", "--start", SEASON[0], "--end", SEASON[1], "--source", source])
        print(f"season backfill {SEASON[0]}..{SEASON[1]} (174 dates): {wall:.1f} s wall (target < 300 s), "
              f"peak RSS {peak:.0f} MiB (target < 1024 MiB)")


if __name__ == "__main__":
    main()
