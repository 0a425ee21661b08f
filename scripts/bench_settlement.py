"""Settlement and leaderboard benchmarks (SPEC §4, seed 002 §11).

- settlement of one match for N members (target < 2 s embedded), median of --repeat matches;
- full rebuild of the tournament board;
- leaderboard page read p95 (target < 50 ms), pages of 50 at random offsets;
- 202 acknowledgement of a settlement command through the executions_admin HTTP function
  (authentication, execution record, audit, enqueue), p95 (target < 500 ms).

    python scripts/bench_settlement.py [--members 10000] [--repeat 3] [--backend local|emulator]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from shared.tournaments.leaderboard import Board, Leaderboards
from shared.tournaments.season import SeasonPlan, end_match, load_season
from shared.tournaments.settlement import Settlement


def open_documents(backend: str, home: Path):
    if backend == "local":
        from shared.adapters.local.documents import SqliteDocumentStore
        return SqliteDocumentStore(home / "bench.sqlite")
    from shared.adapters.gcp.firestore import FirestoreDocumentStore
    from shared.config import Settings, emulator_endpoints
    endpoints = emulator_endpoints(Settings.from_env(backend="emulator"))
    return FirestoreDocumentStore(endpoints.project, namespace="bench" + uuid.uuid4().hex[:8],
                                  endpoint=endpoints.firestore)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--acks", type=int, default=200, help="settlement commands for the 202 benchmark")
    parser.add_argument("--backend", choices=("local", "emulator"), default="local")
    args = parser.parse_args()
    plan = SeasonPlan(tournament_id="bench", matches=args.repeat, members=args.members, matches_per_round=10,
                      leagues=1)
    with tempfile.TemporaryDirectory() as home:
        documents = open_documents(args.backend, Path(home))
        started = time.perf_counter()
        store = load_season(documents, plan)
        print(f"loaded {args.members} members x {args.repeat} matches in {time.perf_counter() - started:.1f} s")
        settle_times, settle_cpu = [], []
        for n in range(args.repeat):
            match = end_match(store, plan, n)
            started, cpu = time.perf_counter(), time.process_time()
            Settlement(documents).settle(plan.tournament_id, match.match_id, match.status_timestamp,
                                         execution_id=f"bench-{n}")
            settle_times.append(time.perf_counter() - started)
            settle_cpu.append(time.process_time() - cpu)
        # CPU time of this process too: on a shared machine the wall time mostly measures the others
        print(f"settlement of one match for {args.members} members (incl. refreshing 2 boards): "
              f"median {statistics.median(settle_times):.2f} s wall, {statistics.median(settle_cpu):.2f} s CPU  "
              f"all {[round(t, 2) for t in settle_times]}  load average {os.getloadavg()[0]:.1f}")
        leaderboards = Leaderboards(documents)
        started = time.perf_counter()
        leaderboards.rebuild(Board(plan.tournament_id))
        print(f"full rebuild of the tournament board: {time.perf_counter() - started:.2f} s")
        pages = args.members // 50
        latencies = []
        for _ in range(args.reads):
            started = time.perf_counter()
            leaderboards.read(Board(plan.tournament_id), page=random.randint(1, pages), page_size=50)
            latencies.append((time.perf_counter() - started) * 1000)
        latencies.sort()
        print(f"page read (50 entries): p50 {latencies[len(latencies) // 2]:.1f} ms  "
              f"p95 {latencies[int(len(latencies) * 0.95)]:.1f} ms")
        print(acknowledgement_p95(documents, args.acks))
        documents.close()


def acknowledgement_p95(documents, count: int) -> str:
    import flask

    from shared.adapters.local.bus import LocalBus
    from shared.bootstrap import Services
    from shared.config import Settings
    from shared.executions.admin import handle_admin_request
    from shared.runtime import auth
    from shared.runtime.entrypoints import HttpFunction
    from shared.runtime.rate_limit import RATE_LIMIT_ENV
    from shared.topology import TOPOLOGY

    services = Services.with_adapters(Settings(), bus=LocalBus(), documents=documents)
    services.bus.create_topic("settlement-jobs")
    os.environ[RATE_LIMIT_ENV] = "0"  # every command is the one bench identity's: measure the path, not the budget
    function = HttpFunction(TOPOLOGY.function("executions_admin"), lambda r: handle_admin_request(r, services),
                            verifier=auth.DevTokenVerifier("bench", "bench-admin"), services_factory=lambda: services)
    app, latencies = flask.Flask("bench"), []
    body = {"tournament_id": "bench", "match_id": "x0000", "status_timestamp": "2025-08-15T21:00:00+00:00"}
    for _ in range(count):
        started = time.perf_counter()
        with app.test_request_context("/settlements", method="POST", json=body,
                                      headers={"Authorization": "Bearer bench-admin"}):
            response = function(flask.request)
            assert response.status_code == 202, response.get_data(as_text=True)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return (f"202 acknowledgement: p50 {latencies[len(latencies) // 2]:.1f} ms  "
            f"p95 {latencies[int(len(latencies) * 0.95)]:.1f} ms")


if __name__ == "__main__":
    main()
