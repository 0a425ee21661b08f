"""`ReplaySource.check()` of the real season, cold (an empty replay cache: every CSV parsed and
checked) and warm (the same files again: loaded from the cache), each in a fresh child process,
interleaved cold, warm, cold, warm. Target (issue 10): warm < 0.3 s.

Only the check is timed (not the interpreter or the imports); the cache of the warm runs is a
scratch directory, never the user's.

Usage: python scripts/bench_replay.py [--data ../shared/data] [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = """
import sys, time
from shared.providers.replay import ReplaySource
source = ReplaySource(sys.argv[1])
started, cpu = time.perf_counter(), time.process_time()
source.check()
print(time.perf_counter() - started, time.process_time() - cpu)
"""


def timed_check(data: Path, cache: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one check in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPORTSFLOW_REPLAY_CACHE": str(cache)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(data)], env=env, cwd=REPO, check=True,
                         capture_output=True, text=True)
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parents[0] / "shared" / "data")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"replay data not found at {args.data}: pass --data")
    cold, warm = [], []
    with tempfile.TemporaryDirectory(prefix="sportsflow-replay-cache-") as scratch:
        for run in range(args.runs):
            cache = Path(scratch) / f"run-{run}"
            cold.append(timed_check(args.data, cache))   # empty cache: parses, then stores
            warm.append(timed_check(args.data, cache))   # the entry just stored
    load = os.getloadavg()[0]
    for unit, index in (("s wall", 0), ("cpu-s", 1)):
        c, w = [t[index] for t in cold], [t[index] for t in warm]
        print(f"ReplaySource.check() {unit}: cold median {statistics.median(c):.3f} (min {min(c):.3f}, max "
              f"{max(c):.3f}); warm median {statistics.median(w):.3f} (min {min(w):.3f}, max {max(w):.3f}; "
              f"target < 0.3 s); cold/warm {statistics.median(c) / statistics.median(w):.1f}x; {args.runs} runs "
              f"each, load {load:.1f}")

if __name__ == "__main__":
    main()
