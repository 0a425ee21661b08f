"""Pipeline benchmarks on the embedded backend (issue 10 targets), each the real CLI in a child
process with its own fresh SPORTSFLOW_HOME, process start included:

- one day (2025-01-15, replay data) end to end: target < 1 s (median);
- the season's opening night (2024-10-22, 2 games): proportionally cheaper than a full date;
- the whole 2024-25 regular season as a `backfill`: target < 60 s wall, < 400 MiB peak RSS;
  then the same backfill again on the same home (resumed, every date finished): target < 2 s.

The replay cache (`~/.cache/sportsflow/replay`, README "Performance") is filled by the first run
of a tree that has one, so the medians are of warm runs; `scripts/bench_replay.py` times
`ReplaySource.check()` cold and warm on its own.

`--baseline DIR` runs every measurement also with the code of another checkout (e.g. main),
interleaved A B A B so both see the same machine, and prints the ratios this/baseline.

Usage: python scripts/bench_pipeline.py [--data ../shared/data] [--day-runs 5] [--skip-season] [--baseline DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

SEASON = ("2024-10-22", "2025-04-13")
DAY = "2025-01-15"
OPENING_NIGHT = SEASON[0]
REPO = Path(__file__).resolve().parents[1]


class Timing(NamedTuple):
    wall: float       # seconds, process start included
    peak_mib: float   # the child's own peak RSS
    cpu: float        # the child's user + system CPU seconds: far less sensitive than wall to a loaded machine


def timed(code: Path, args: list[str], home: str | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of the CLI of checkout `code` run in a child process."""
    timing = run_cli(code, args, home)
    return timing.wall, timing.peak_mib


def run_cli(code: Path, args: list[str], home: str | None = None, env_extra: dict[str, str] | None = None) -> Timing:
    with tempfile.TemporaryDirectory(prefix="sportsflow-bench-") as fresh:
        env = {**os.environ, "SPORTSFLOW_HOME": home or fresh, "PYTHONPATH": str(code), **(env_extra or {})}
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "shared.cli.app", *args], env=env, cwd=code,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS and CPU time
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{' '.join(args)} failed in {code} (exit {child.returncode})")
    return Timing(wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def report(label: str, ours: list[float], theirs: list[float], unit: str = "s") -> None:
    line = f"{label}: median {statistics.median(ours):.2f} {unit} (min {min(ours):.2f}, max {max(ours):.2f}, " \
           f"{len(ours)} runs)"
    if theirs:
        ratios = [a / b for a, b in zip(ours, theirs)]
        line += f"; baseline median {statistics.median(theirs):.2f} {unit}, ratio {statistics.median(ratios):.2f}x"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parents[0] / "shared" / "data")
    parser.add_argument("--day-runs", type=int, default=5)
    parser.add_argument("--skip-season", action="store_true")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with, interleaved")
    parser.add_argument("--no-predictions", action="store_true",
                        help="days through Phase 4 only (SPORTSFLOW_PREDICTIONS=off, which baselines read too)")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"replay data not found at {args.data}: pass --data")
    source = f"replay:{args.data}"
    codes = [REPO] + ([args.baseline.resolve()] if args.baseline else [])
    phases = {"SPORTSFLOW_PREDICTIONS": "off"} if args.no_predictions else {}
    for label, day in (("one day", DAY), ("opening night", OPENING_NIGHT)):
        runs: dict[Path, list[Timing]] = {code: [] for code in codes}
        for _ in range(args.day_runs):
            for code in codes:
                runs[code].append(run_cli(code, ["run", "--date", day, "--source", source, "--json"], env_extra=phases))
        through = "Phases 1-4" if args.no_predictions else "Phases 1-5"
        title = f"{label} ({day}, {through}, replay, embedded, CLI, load {os.getloadavg()[0]:.1f})"
        baseline = runs[codes[1]] if args.baseline else []
        report(f"{title} wall", [t.wall for t in runs[REPO]], [t.wall for t in baseline])
        report(f"{title} cpu", [t.cpu for t in runs[REPO]], [t.cpu for t in baseline], unit="cpu-s")
    if args.skip_season:
        return
    walls, peaks, resumed = {}, {}, {}
    for code in codes:
        with tempfile.TemporaryDirectory(prefix="sportsflow-season-") as home:
            backfill = ["backfill", "--start", SEASON[0], "--end", SEASON[1], "--source", source]
            walls[code], peaks[code] = timed(code, backfill, home)
            resumed[code] = timed(code, backfill, home)[0]
    for code in codes:
        print(f"season backfill {SEASON[0]}..{SEASON[1]} ({code}): {walls[code]:.1f} s wall (target < 60 s), "
              f"peak RSS {peaks[code]:.0f} MiB (target < 400 MiB); resumed rerun {resumed[code]:.2f} s (target < 2 s)")
    if args.baseline:
        print(f"season ratio this/baseline: {walls[REPO] / walls[codes[-1]]:.2f}x wall")


if __name__ == "__main__":
    main()
