"""Console page render times over a home with a season of data (target: p95 < 300 ms a page).

Every page is rendered through the console's WSGI app (authentication, routing, the subsystems'
read functions, the Jinja2 templates) as a browser would ask for it, warm (each once first), then
`--runs` times; prints p50/p95 per page and over all pages. Build a home first, e.g.

    SPORTSFLOW_HOME=/tmp/season sportsflow backfill --start 2024-10-22 --end 2025-04-13 \\
        --source replay:../shared/data --predictions
    SPORTSFLOW_HOME=/tmp/season sportsflow validate --season 2024 --source replay:../shared/data/retrosheet-gamelogs
    python scripts/bench_console.py --home /tmp/season [--runs 20] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from werkzeug.test import Client

from shared.bootstrap import Services
from shared.config import Settings
from shared.console import views
from shared.console.server import console_app
from shared.runtime.auth import DevTokenVerifier
from shared.runtime.rate_limit import RATE_LIMIT_ENV
from shared.validation import records

TARGET_P95_MS = 300.0
TOKEN = "bench-admin-token"


def pages(services: Services) -> list[str]:
    """The pages people open, with the parameters they would use on this home's data."""
    days = views.known_dates(services)
    decisions = services.documents.query(records.DECISIONS, limit=1)
    review = views.review_queue(services, "open")[:1]
    boards = views.leaderboards(services)[:1]
    team = decisions[0].data["team"] if decisions else "NYA"
    paths = ["/", "/pipeline", "/pipeline?page=5", "/coverage", "/validations", f"/validations?team={team}",
             f"/validations?team={team}&outcome=met", "/validations?after=NYA", "/reviews", "/reviews?status=all",
             "/live", "/executions", "/leaderboards", "/health"]
    if days:
        paths += [f"/pipeline?date={days[len(days) // 2]}", f"/coverage?date={days[0]}"]
    if decisions:
        paths.append(f"/validations/{decisions[0].id}")
    if review:
        paths.append(f"/validations/{review[0]['decision_key']}")
    if boards:
        paths.append(f"/leaderboards/{boards[0]}")
    return paths


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # one identity asks for every page: the bench measures rendering, not the per-caller budget
    os.environ[RATE_LIMIT_ENV] = "0"
    services = Services(Settings(home=args.home))
    client = Client(console_app(services=services, verifier=DevTokenVerifier("bench-invoker", TOKEN)))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    scale = {"dates": len(views.known_dates(services)), "decisions": services.documents.count(records.DECISIONS)}
    results, every = {}, []
    for path in pages(services):
        first = client.get(path, headers=headers)
        if first.status_code != 200:
            raise SystemExit(f"{path} answered {first.status_code}: fix the page before timing it")
        times = []
        for _ in range(args.runs):
            begun = time.perf_counter()
            client.get(path, headers=headers)
            times.append((time.perf_counter() - begun) * 1000)
        every += times
        results[path] = {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 0.95), 1)}
    summary = {"scale": scale, "runs": args.runs, "pages": results,
               "all_pages": {"p50_ms": round(statistics.median(every), 1), "p95_ms": round(percentile(every, 0.95), 1)},
               "target_p95_ms": TARGET_P95_MS}
    services.close()
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"home {args.home}: {scale['dates']} dates, {scale['decisions']} decisions; {args.runs} renders a page")
    for path, numbers in results.items():
        flag = "" if numbers["p95_ms"] < TARGET_P95_MS else "  > target"
        print(f"  {path:70} p50 {numbers['p50_ms']:7.1f} ms  p95 {numbers['p95_ms']:7.1f} ms{flag}")
    overall = summary["all_pages"]
    print(f"  {'all pages':70} p50 {overall['p50_ms']:7.1f} ms  p95 {overall['p95_ms']:7.1f} ms"
          f"  (target p95 < {TARGET_P95_MS:g} ms)")


if __name__ == "__main__":
    main()
