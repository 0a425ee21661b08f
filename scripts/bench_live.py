"""Live read API under load, and the ingestion rate of one live_ingest instance.

1. reads: `live_read_api` served by a real functions-framework process (gunicorn) on a local
   store with 300 live matches (plus the day's diary), while a separate process keeps applying
   provider updates to those matches through the monotonic transition; 100 concurrent clients
   alternate GET /matches/live and GET /matches/diary?date=... (target p95 < 200 ms; seed: < 2 s).
   Clients accept gzip (httpx's default); with --revalidate each also sends If-None-Match with
   the last ETag it saw, as a polling browser does (an unchanged list is then a bodiless 304).
   Printed alongside: the machine's load average before and after (the machine is shared), and
   the sequential cost of one request (median of --sequential GETs, one client, no load).
2. ingestion: a real functions-framework process serving `live_ingest` receives Pub/Sub push
   bodies back to back (1 client: one instance with concurrency 1, as deployed) — updates/s.

    python scripts/bench_live.py [--matches 300] [--clients 100] [--requests 20] [--pushes 1000]
                                 [--workers 1] [--threads N] [--revalidate] [--sequential 200]
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
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


def serve(function: str, signature: str, home: Path, threads: int | None = None,
          workers: int = 1) -> tuple[subprocess.Popen, str]:
    """functions-framework (gunicorn) with `workers` processes of `threads` request threads (WORKERS,
    THREADS; None: the framework's default, 4 per CPU, as a deployed instance runs)."""
    port = free_port()
    env = {**os.environ, "SPORTSFLOW_BACKEND": "local", "SPORTSFLOW_HOME": str(home), "PYTHONPATH": str(REPO),
           "WORKERS": str(workers), "SPORTSFLOW_DEV_TOKEN": TOKEN,
           # the 100 clients share the one development identity; in production each is its own caller
           "SPORTSFLOW_RATE_LIMIT_PER_MINUTE": "0"}
    env.pop("THREADS", None)
    if threads is not None:
        env["THREADS"] = str(threads)
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


def keep_updating(home: str, count: int, stop, applied, per_second: float = 0) -> None:
    """Provider updates to every live match, round robin, each round a new score: `per_second`
    updates a second (0: as fast as one writer can, which on 2 cores takes a core from the server)."""
    documents = SqliteDocumentStore(Path(home) / "documents.sqlite")
    store = MatchStore(documents)
    ptu, rounds, started = store.now() + 1, 0, time.monotonic()
    while not stop.is_set():
        rounds += 1
        for n in range(count):
            ptu += 1  # each round changes every score, so every list changes as often as the writer manages
            store.apply(LiveProviderUpdate(match_id=f"b{n:04d}", status_id=2, provider_update_time=ptu,
                                           home_score=rounds % 10))
            applied.value += 1
            if per_second:
                time.sleep(max(0.0, started + applied.value / per_second - time.monotonic()))
            if stop.is_set():
                break
    documents.close()


class RawConnection:
    """One keep-alive HTTP/1.1 connection on asyncio streams. The load client is lean on purpose:
    httpx's async client costs ~5 ms of CPU per request here, more than the server (~2 ms), and
    on a 2-core machine the client's CPU is taken from the server it measures."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}", *(f"{k}: {v}" for k, v in headers.items())]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {name.strip().lower(): value.strip() for name, _, value in (h.partition(":") for h in head[1:] if h)}
        if "chunked" in fields.get("transfer-encoding", ""):
            raise RuntimeError("the bench client reads Content-Length bodies only")
        body = await self.reader.readexactly(int(fields.get("content-length", 0)))
        if fields.get("content-encoding") == "gzip":
            body = gzip.decompress(body)  # a real client decodes it too
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, fields, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def read_load(url: str, day: str, clients: int, requests: int,
                    revalidate: bool = False) -> dict[str, list[float]]:
    latencies: dict[str, list[float]] = {"live": [], "diary": []}
    errors, not_modified = 0, 0
    statuses: dict[str, int] = {}
    host, port = url.removeprefix("http://").split(":")
    base_headers = {**AUTH, "Accept-Encoding": "gzip"}

    async def one_client(index: int) -> None:
        nonlocal errors, not_modified
        connection, etags = RawConnection(host, int(port)), {}
        for r in range(requests):
            kind = "live" if (index + r) % 2 == 0 else "diary"
            path = "/matches/live" if kind == "live" else f"/matches/diary?date={day}"
            headers = {**base_headers, **({"If-None-Match": etags[kind]} if revalidate and kind in etags else {})}
            started = time.perf_counter()
            try:
                status, fields, body = await connection.get(path, headers)
                if status == 200:
                    json.loads(body)  # a real client parses what it got
            except (OSError, asyncio.IncompleteReadError):  # counted, never hidden
                errors += 1
                await connection.close()
                continue
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if status not in (200, 304):  # an error answer is fast and would flatter the percentiles
                errors += 1
                continue
            latencies[kind].append((time.perf_counter() - started) * 1000)
            not_modified += status == 304
            etags[kind] = fields.get("etag", "")
        await connection.close()
    await asyncio.gather(*(one_client(i) for i in range(clients)))
    latencies["errors"], latencies["not_modified"] = [errors], [not_modified]
    latencies["statuses"] = statuses
    return latencies


def sequential_cost(url: str, day: str, count: int) -> dict[str, float]:
    """One client, one request at a time, no other load: the median per-request cost and the body sizes."""
    costs: dict[str, float] = {}
    with httpx.Client(base_url=url, timeout=30, headers=AUTH) as client:
        for name, headers in (("plain", {"Accept-Encoding": "identity"}), ("gzip", {"Accept-Encoding": "gzip"})):
            for path in ("/matches/live", f"/matches/diary?date={day}"):
                samples = []
                for _ in range(count):
                    started = time.perf_counter()
                    response = client.get(path, headers=headers)
                    samples.append((time.perf_counter() - started) * 1000)
                key = f"{path.split('?')[0].rsplit('/', 1)[1]}_{name}"
                costs[f"{key}_ms"] = round(statistics.median(samples), 2)
                costs[f"{key}_json_bytes"] = len(response.content)  # httpx decodes gzip
                costs[f"{key}_wire_bytes"] = int(response.headers.get("Content-Length", 0))
    return costs


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group (the server's master and workers)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state ppid pgrp ... utime(11) stime(12)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def load_average() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


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
    parser.add_argument("--threads", type=int, default=None,
                        help="request threads per read API worker (default: functions-framework's, 4 per CPU)")
    parser.add_argument("--workers", type=int, default=1, help="read API worker processes (one instance: 1)")
    parser.add_argument("--revalidate", action="store_true", help="clients send If-None-Match with their last ETag")
    parser.add_argument("--update-rate", type=float, default=300,
                        help="provider updates a second meanwhile (0: flat out); one live_ingest instance does ~200")
    parser.add_argument("--sequential", type=int, default=200, help="sequential GETs per path for the per-request cost")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-live-") as scratch:
        run(args, Path(scratch))


def run(args: argparse.Namespace, home: Path) -> None:
    _, day = seed_matches(home, args.matches)
    process, url = serve("live_read_api", "http", home, threads=args.threads, workers=args.workers)
    stop, applied = multiprocessing.Event(), multiprocessing.Value("l", 0)
    updater = multiprocessing.Process(target=keep_updating,
                                      args=(str(home), args.matches, stop, applied, args.update_rate))
    try:
        assert httpx.get(f"{url}/matches/live", headers=AUTH, timeout=30).status_code == 200  # warm-up
        sequential = sequential_cost(url, day, args.sequential)
        load_before = load_average()
        updater.start()
        time.sleep(1)
        started, before, server_cpu = time.perf_counter(), applied.value, group_cpu_seconds(process.pid)
        latencies = asyncio.run(read_load(url, day, args.clients, args.requests, args.revalidate))
        elapsed = time.perf_counter() - started
        server_cpu = group_cpu_seconds(process.pid) - server_cpu
        load_after = load_average()
        rate = (applied.value - before) / elapsed
    finally:
        stop.set()
        updater.join(timeout=30)
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    print(json.dumps({"matches": args.matches, "clients": args.clients, "requests": args.clients * args.requests,
                      "workers": args.workers, "threads": args.threads or f"default ({(os.cpu_count() or 1) * 4})",
                      "revalidate": args.revalidate,
                      "errors": latencies["errors"][0], "statuses": latencies["statuses"],
                      "not_modified_304": latencies["not_modified"][0],
                      "seconds": round(elapsed, 1),
                      "server_cpu_ms_per_request": round(server_cpu * 1000 / (args.clients * args.requests), 2),
                      "updates_applied_meanwhile_per_s": round(rate, 1),
                      "load_average_1_5_15_before": load_before, "load_average_1_5_15_after": load_after}))
    print("sequential, one client, no load (median):", json.dumps(sequential))
    print("GET /matches/live          ", percentiles(latencies["live"]))
    print("GET /matches/diary?date=   ", percentiles(latencies["diary"]))
    print("GET both                   ", percentiles(latencies["live"] + latencies["diary"]))
    print(f"live_ingest, one instance, pushes back to back: {ingestion_rate(home, args.pushes, args.matches):.0f}"
          " updates/s")


if __name__ == "__main__":
    main()
