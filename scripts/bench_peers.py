#!/usr/bin/env python3
"""The no-op DAG of the Phase 3–4 shape (5 independent tasks, then a chain of 5 whose first
reads all five: 10 tasks) side by side with Prefect and Dagster, each in one process.

- sportsflow: `shared.pipeline.noop_dag` on the embedded backend, every exactly-once record
  kept (run lease + heartbeat, decision document, data version, announced completion,
  ops.processor_run_history row);
- Prefect 3 (a flow of 10 tasks, its default ephemeral API on SQLite);
- Dagster with an in-memory instance (persists nothing) and on SQLite (`DagsterInstance.local_temp`).

Prefect and Dagster are installed by this script in their own virtualenv
(`$SPORTSFLOW_PEERS_VENV`, default `~/.cache/sportsflow/bench-peers`) — never a project
dependency; `--no-peers` measures sportsflow alone. Each round runs every system in turn in a
fresh child process (rounds interleave, so a machine whose speed drifts slows all alike); a
child times `--dags` DAG runs after two warm-up runs, each on a new date. Printed: the median
over rounds of each system's median ms per DAG and per task, and the ratio sportsflow/peer
computed round by round.

    python scripts/bench_peers.py [--rounds 5] [--dags 20] [--no-peers]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TASKS = 10
PEER_PACKAGES = ("prefect>=3,<4", "dagster>=1.9,<2")
SYSTEMS = ("sportsflow", "prefect", "dagster-in-memory", "dagster-sqlite")


# ---- the DAG in each system (run in a child process) -----------------------------------

def sportsflow_dag(home: str):
    from datetime import date, timedelta

    from shared.pipeline.noop_dag import NoopDag
    dag = NoopDag(Path(home)).__enter__()
    days = iter(date(2030, 1, 1) + timedelta(days=n) for n in range(100_000))

    def run() -> None:
        statuses = dag.run(next(days))
        assert statuses == ["succeeded"] * TASKS, statuses
    return run


def prefect_dag(home: str):
    os.environ.setdefault("PREFECT_HOME", home)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")  # a loaded machine
    from prefect import flow, task

    @task
    def noop(*upstream):
        return None

    @flow
    def dag():
        first = [noop.with_options(name=f"analytics_{i}")() for i in range(5)]
        previous = first
        for i in range(5):
            previous = [noop.with_options(name=f"precompute_{i}")(*previous)]

    return dag


def dagster_dag(home: str, *, sqlite: bool):
    from dagster import DagsterInstance, In, Nothing, job, op

    def task(name: str, upstream: int):
        @op(name=name, ins={f"after_{k}": In(Nothing) for k in range(upstream)})
        def noop() -> None:
            return None
        return noop

    @job
    def dag():
        previous = [task(f"analytics_{i}", 0)() for i in range(5)]
        for i in range(5):
            previous = [task(f"precompute_{i}", len(previous))(**{f"after_{k}": p for k, p in enumerate(previous)})]

    instance = DagsterInstance.local_temp(home) if sqlite else DagsterInstance.ephemeral()

    def run() -> None:
        assert dag.execute_in_process(instance=instance, raise_on_error=True).success
    return run


def child(system: str, dags: int) -> None:
    with tempfile.TemporaryDirectory(prefix=f"bench-{system}-") as home:
        run = {"sportsflow": lambda: sportsflow_dag(home), "prefect": lambda: prefect_dag(home),
               "dagster-in-memory": lambda: dagster_dag(home, sqlite=False),
               "dagster-sqlite": lambda: dagster_dag(home, sqlite=True)}[system]()
        for _ in range(2):
            run()
        seconds = []
        for _ in range(dags):
            started = time.perf_counter()
            run()
            seconds.append(time.perf_counter() - started)
    print(json.dumps({"system": system, "seconds": seconds}))


# ---- the driver --------------------------------------------------------------------------

def peers_python(install: bool) -> Path | None:
    venv = Path(os.environ.get("SPORTSFLOW_PEERS_VENV", "~/.cache/sportsflow/bench-peers")).expanduser()
    python = venv / "bin" / "python"
    if not python.exists():
        if not install:
            return None
        print(f"installing {', '.join(PEER_PACKAGES)} into {venv} (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    return python


def measure(python: Path, system: str, dags: int) -> float:
    """Median seconds per DAG run of one child process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)} if system == "sportsflow" else \
        {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(python), __file__, "--child", system, "--dags", str(dags)], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{system} failed:\n{out.stderr[-3000:]}")
    return statistics.median(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dags", type=int, default=20, help="timed DAG runs per child process")
    parser.add_argument("--no-peers", action="store_true", help="sportsflow alone")
    parser.add_argument("--no-install", action="store_true", help="use the peers' venv only if it exists")
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.dags)
    peers = None if args.no_peers else peers_python(install=not args.no_install)
    systems = {"sportsflow": Path(sys.executable)}
    if peers is not None:
        systems.update({name: peers for name in SYSTEMS[1:]})
    rounds: list[dict[str, float]] = []
    for number in range(1, args.rounds + 1):
        rounds.append({name: measure(python, name, args.dags) for name, python in systems.items()})
        print(f"round {number}/{args.rounds}: " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in rounds[-1].items()),
              file=sys.stderr)
    print(table(rounds))


def table(rounds: list[dict[str, float]]) -> str:
    lines = [f"no-op DAG, {TASKS} tasks, medians over {len(rounds)} interleaved rounds",
             f"{'system':<20} {'ms / DAG':>10} {'ms / task':>10} {'sportsflow / it':>16}"]
    for name in rounds[0]:
        per_dag = statistics.median(r[name] for r in rounds) * 1000
        ratio = statistics.median(r["sportsflow"] / r[name] for r in rounds)
        lines.append(f"{name:<20} {per_dag:>10.1f} {per_dag / TASKS:>10.2f} {ratio:>15.3f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
