#!/usr/bin/env python3
"""Phase 5 benchmarks (numbers for the notes; never a timed unit test).

    python scripts/bench_phase5.py slate [--date D] [--workers 100]
        one slate from the coordinator's trigger to `phase5-predictions-complete`, on the embedded
        backend with the bus dispatching on N threads (as N worker instances would)
    python scripts/bench_phase5.py api [--clients 100] [--seconds 20]
        the predictions API served by `sportsflow serve predictions_api` (functions-framework's
        gunicorn), N concurrent clients reading players, markets and coverage: p50/p95/p99 and the
        cache hit rate (the X-Cache header)
    python scripts/bench_phase5.py e2e [--date D] [--source replay:PATH]
        one date through the CLI: Phase 2 complete → predictions complete, from the run's logs

Each builds its own home under a temporary directory.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _phase4_home(home: Path, day: date, source: str) -> None:
    from shared.config import Settings
    from shared.pipeline.runner import Pipeline, RunOptions
    from shared.predictions.coordinator import SWITCHED_OFF

    with Pipeline(Settings(home=home, predictions_enabled=False), RunOptions(source=source)) as pipeline:
        report = pipeline.run_date(day)
        assert report.finished, report.missing
        pipeline.services.documents.delete(f"{SWITCHED_OFF}/{day.isoformat()}")


def bench_slate(args) -> dict:
    from shared.adapters.local.bus import LocalBus
    from shared.bootstrap import Services
    from shared.config import Settings
    from shared.contracts.codec import encode
    from shared.pipeline import data_versions
    from shared.predictions.batches import BatchLedger
    from shared.predictions.models import model_set, versions_for_date
    from shared.runtime.embedded import EmbeddedDeployment
    from tests.predictions.phase5_harness import phase4_completion

    day = date.fromisoformat(args.date)
    home = Path(tempfile.mkdtemp(prefix="bench-slate-"))
    _phase4_home(home, day, args.source)
    bus = LocalBus()
    services = Services.with_adapters(Settings(home=home), bus=bus)
    EmbeddedDeployment(services).deploy()
    model_set(services, versions_for_date(services, day))  # the instance's model load, before the clock starts

    class _Pipeline:  # what phase4_completion reads
        pass
    holder = _Pipeline()
    holder.services = services
    message = phase4_completion(holder, day)
    encoded = encode(message, run_id="bench", correlation_id="bench", producer="bench")
    bus.start(workers=args.workers)
    started = time.perf_counter()
    bus.publish("phase4-precompute-complete", encoded.data, encoded.attributes)
    ledger = BatchLedger(services.documents)
    while True:
        pointer = ledger.pointer(day)
        if pointer and pointer.get("completed_batch_id") == pointer["batch_id"]:
            break
        if time.perf_counter() - started > 600:
            raise TimeoutError("the slate did not complete in 10 minutes")
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    bus.stop()
    batch = ledger.current(day)
    assert data_versions.current_version(services.documents, "ml_feature_store_v2", day) == batch.feature_data_version
    services.close()
    return {"benchmark": "slate", "date": day.isoformat(), "players": batch.expected, "workers": args.workers,
            "trigger_to_completion_s": round(elapsed, 3), "players_per_s": round(batch.expected / elapsed, 1)}


def bench_api(args) -> dict:
    import httpx

    day = date.fromisoformat(args.date)
    home = Path(tempfile.mkdtemp(prefix="bench-api-"))
    subprocess.run([sys.executable, "-m", "shared.cli.app", "--home", str(home), "run", "--date", day.isoformat(),
                    "--source", args.source, "--json"], check=True, capture_output=True, cwd=REPO)
    port = 18000 + random.randint(0, 999)
    server = subprocess.Popen([sys.executable, "-m", "shared.cli.app", "--home", str(home), "serve",
                               "predictions_api", "--port", str(port), "--threads", str(args.threads)],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    token = None
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                token = (home / "dev-token").read_text().strip()
                httpx.get(f"{base}/predictions/coverage", params={"date": day.isoformat()},
                          headers={"Authorization": f"Bearer {token}"}, timeout=1)
                break
            except (httpx.HTTPError, FileNotFoundError):
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        players = [p["player_id"] for p in httpx.get(f"{base}/predictions", params={"date": day.isoformat()},
                                                         headers=headers, timeout=30).json()["predictions"]]
        latencies: list[float] = []
        hits = errors = 0
        lock = threading.Lock()
        stop = time.perf_counter() + args.seconds

        def client(seed: int) -> None:
            nonlocal hits, errors
            rng = random.Random(seed)
            with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
                while time.perf_counter() < stop:
                    roll = rng.random()
                    if roll < 0.8:
                        params = {"date": day.isoformat(), "player": rng.choice(players),
                                  "market": rng.choice(["points", "threes", "rebounds", "assists"])}
                        path = "/predictions"
                    elif roll < 0.9:
                        params, path = {"date": day.isoformat()}, "/predictions/coverage"
                    else:
                        params, path = {"date": day.isoformat(), "player": rng.choice(players)}, "/predictions"
                    began = time.perf_counter()
                    response = http.get(path, params=params)
                    took = time.perf_counter() - began
                    with lock:
                        latencies.append(took)
                        hits += response.headers.get("X-Cache") == "hit"
                        errors += response.status_code != 200

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies.sort()
    quantiles = statistics.quantiles(latencies, n=100)
    return {"benchmark": "api", "clients": args.clients, "server_threads": args.threads, "requests": len(latencies),
            "requests_per_s": round(len(latencies) / args.seconds, 1), "errors": errors,
            "p50_ms": round(quantiles[49] * 1000, 1), "p95_ms": round(quantiles[94] * 1000, 1),
            "p99_ms": round(quantiles[98] * 1000, 1), "cache_hit_rate": round(hits / len(latencies), 4)}


def bench_e2e(args) -> dict:
    """Phase 2 complete → predictions complete, from the structured log of one `sportsflow run`."""
    day = date.fromisoformat(args.date)
    home = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    began = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "shared.cli.app", "--home", str(home), "run", "--date",
                          day.isoformat(), "--source", args.source, "--json"], capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - began
    assert run.returncode == 0, run.stderr[-2000:]
    times = {}
    for line in (home / "logs" / "sportsflow.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry.get("message") == "finished" and entry.get("function") == "phase2_raw_processors":
            times["phase2"] = entry["time"]  # the last Phase 2 completion
        if entry.get("message") == "predictions complete":
            times["phase5"] = entry["time"]
    span = datetime.fromisoformat(times["phase5"]) - datetime.fromisoformat(times["phase2"])
    report = json.loads(run.stdout)
    return {"benchmark": "e2e", "date": day.isoformat(), "source": args.source, "cli_wall_s": round(wall, 2),
            "phase2_complete_to_predictions_complete_s": round(span.total_seconds(), 2),
            "players": report["predictions"]["predicted"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=["slate", "api", "e2e"])
    parser.add_argument("--date", default="2025-01-15")
    parser.add_argument("--source", default="synthetic")
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    os.environ.setdefault("SPORTSFLOW_LOG_LEVEL", "WARNING")
    result = {"slate": bench_slate, "api": bench_api, "e2e": bench_e2e}[args.which](args)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
