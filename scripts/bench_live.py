"""Live read API under load, and the ingestion rate of one live_ingest instance.

1. reads: `live_read_api` served by a real functions-framework process (gunicorn) on a local
   store with 300 live matches (plus the day's diary), while a separate process keeps applying
   provider updates to those matches through the monotonic transition; 100 concurrent clients
   alternate GET /matches/live and GET /matches/diary?date=... (target p95 < 200 ms; seed: < 2 s).
2. ingestion: a real functions-framework process serving `live_ingest` receives Pub/Sub push
   bodies back to back (1 client: one instance with concurrency 1, as deployed) — updates/s.

    python scripts/bench_live.py [--matches 300] [--clients 100] [--requests 20] [--pushes 1000]
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-live-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
sys.path.insert(0, str(REPO))

from shared.adapters.local.documents import SqliteDocumentStore  # noqa: E402
from shared.contracts import encode  # noqa: E402
from shared.live.diary import match_from_diary  # noqa: E402
from shared.live.model import LiveProviderUpdate  # noqa: E402
from shared.live.store import MatchStore  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(function: str, signature: str, home: Path, threads: int = 8,
          workers: int = 1) -> tuple[subprocess.Popen, str]:
    """functions-framework (gunicorn) with `workers` processes of `threads` request threads (WORKERS, THREADS)."""
    port = free_port()
    env = {**os.environ, "SPORTSFLOW_BACKEND": "local", "SPORTSFLOW_HOME": str(home), "PYTHONPATH": str(REPO),
           "THREADS": str(threads), "WORKERS": str(workers), "SPORTSFLOW_DEV_TOKEN": TOKEN}
    process = subprocess.Popen([sys.executable, "-m", "functions_framework", "--source",
                                str(REPO / f"functions/{function}/main.py"), "--target", "handle",
                                "--signature-type", signature, "--host", "127.0.0.1", "--port", str(port)],
                               env=env, stdout=(home / f"{function}.log").open("wb"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{function} did not start")


def seed_matches(home: Path, count: int) -> tuple[int, str]:
    documents = SqliteDocumentStore(home / "documents.sqlite")
    store = MatchStore(documents)
    now = store.now()
    for n in range(count):
        kickoff = now - (n % 100) * 60
        store.create(match_from_diary({"match_id": f"b{n:04d}", "match_time": kickoff, "home_team": "H",
                                       "away_team": "A"}, now))
        store.apply(LiveProviderUpdate(match_id=f"b{n:04d}", status_id=2, provider_update_time=kickoff,
                                       kickoff_ts=kickoff))
    day = store.get("b0000")["diary_date"]
    documents.close()
    return now, day


def keep_updating(home: str, count: int, stop, applied) -> None:
    """Provider updates to every live match, round robin, as fast as one writer can."""
    documents = SqliteDocumentStore(Path(home) / "documents.sqlite")
    store = MatchStore(documents)
    ptu = store.now() + 1
    while not stop.is_set():
        for n in range(count):
            ptu += 1
            store.apply(LiveProviderUpdate(match_id=f"b{n:04d}", status_id=2, provider_update_time=ptu,
                                           home_score=ptu % 5))
            applied.value += 1
            if stop.is_set():
                break
    documents.close()


async def read_load(url: str, day: str, clients: int, requests: int) -> dict[str, list[float]]:
    latencies: dict[str, list[float]] = {"live": [], "diary": []}
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits, headers=AUTH) as client:
        async def one_client(index: int) -> None:
            nonlocal errors
            for r in range(requests):
                kind = "live" if (index + r) % 2 == 0 else "diary"
                path = "/matches/live" if kind == "live" else f"/matches/diary?date={day}"
                started = time.perf_counter()
                try:
                    response = await client.get(path)
                except httpx.TransportError:  # counted, never hidden
                    errors += 1
                    continue
                latencies[kind].append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors += 1
        await asyncio.gather(*(one_client(i) for i in range(clients)))
    latencies["errors"] = [errors]
    return latencies


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100)
    return f"n={len(ordered)} p50={q[49]:.1f} ms p95={q[94]:.1f} ms p99={q[98]:.1f} ms max={ordered[-1]:.1f} ms"


def ingestion_rate(home: Path, pushes: int, matches: int) -> float:
    process, url = serve("live_ingest", "cloudevent", home)
    try:
        documents = SqliteDocumentStore(home / "documents.sqlite")
        base = MatchStore(documents).now() + 10_000
        documents.close()
        bodies = []
        for n in range(pushes):
            update = LiveProviderUpdate(match_id=f"b{n % matches:04d}", status_id=2, provider_update_time=base + n)
            encoded = encode(update, run_id="bench", correlation_id="bench")
            bodies.append({"message": {"data": base64.b64encode(encoded.data).decode(),
                                       "attributes": encoded.attributes,
                                       "messageId": encoded.attributes["message_id"]},
                           "subscription": "projects/p/subscriptions/bench"})
        with httpx.Client(base_url=url, timeout=30) as client:
            client.post("/", json=bodies[0])  # warm-up: imports, store open
            started = time.perf_counter()
            for body in bodies[1:]:
                assert client.post("/", json=body).status_code < 300
            return (len(bodies) - 1) / (time.perf_counter() - started)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--matches", type=int, default=300)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    parser.add_argument("--pushes", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=32, help="request threads per read API worker")
    parser.add_argument("--workers", type=int, default=1, help="read API worker processes (one instance: 1)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-live-"))
    _, day = seed_matches(home, args.matches)
    process, url = serve("live_read_api", "http", home, threads=args.threads, workers=args.workers)
    stop, applied = multiprocessing.Event(), multiprocessing.Value("l", 0)
    updater = multiprocessing.Process(target=keep_updating, args=(str(home), args.matches, stop, applied))
    try:
        assert httpx.get(f"{url}/matches/live", headers=AUTH, timeout=30).status_code == 200  # warm-up
        updater.start()
        time.sleep(1)
        started, before = time.perf_counter(), applied.value
        latencies = asyncio.run(read_load(url, day, args.clients, args.requests))
        elapsed = time.perf_counter() - started
        rate = (applied.value - before) / elapsed
    finally:
        stop.set()
        updater.join(timeout=30)
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    print(json.dumps({"matches": args.matches, "clients": args.clients, "requests": args.clients * args.requests,
                      "errors": latencies["errors"][0], "seconds": round(elapsed, 1),
                      "updates_applied_meanwhile_per_s": round(rate, 1)}))
    print("GET /matches/live          ", percentiles(latencies["live"]))
    print("GET /matches/diary?date=   ", percentiles(latencies["diary"]))
    print("GET both                   ", percentiles(latencies["live"] + latencies["diary"]))
    print(f"live_ingest, one instance, pushes back to back: {ingestion_rate(home, args.pushes, args.matches):.0f}"
          " updates/s")


if __name__ == "__main__":
    main()
