"""Screenshots of every console page over an existing home (e.g. a backfilled week and a validated
MLB season), in headless Chromium — what the browser tests do over their small seeded home.

    python scripts/console_screenshots.py --home /tmp/demo --out /tmp/demo-shots [--seed-live]

`--seed-live` adds two live matches (one fresh, one silent for two hours) when the home has none:
`sportsflow live` plays its matches on a simulated clock, so a home rarely holds a live one.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from shared.bootstrap import Services
from shared.config import Settings
from shared.console import views
from shared.console.server import console_app
from shared.live.store import MatchStore
from shared.runtime.auth import DevTokenVerifier
from shared.validation import records
from tests.console.browser import chromium, screenshot, served, sign_in
from tests.console.seed import seed_live

TOKEN = "screenshots-admin-token"


def page_list(services: Services) -> list[tuple[str, str]]:
    days = views.known_dates(services)
    review = views.review_queue(services, "open")[:1] or views.review_queue(services, "all")[:1]
    decision = services.documents.query(records.DECISIONS, limit=1)
    boards = views.leaderboards(services)
    pages = [("01-overview", "/"), ("02-pipeline", "/pipeline")]
    if days:
        pages += [("03-pipeline-date", f"/pipeline?date={days[0]}"), ("04-coverage", f"/coverage?date={days[0]}")]
    pages += [("05-validations", "/validations"), ("06-validations-filtered", "/validations?team=NYA&outcome=met"),
              ("07-reviews", "/reviews?status=all")]
    key = review[0]["decision_key"] if review else (decision[0].id if decision else None)
    if key:
        pages += [("08-validation-record", f"/validations/{key}"), ("09-inclusion-proof", f"/validations/{key}/proof")]
    pages += [("10-live", "/live"), ("11-executions", "/executions")]
    pages += [("12-leaderboard", f"/leaderboards/{boards[0]}")] if boards else [("12-leaderboards", "/leaderboards")]
    pages += [("13-health", "/health")]
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed-live", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    services = Services(Settings(home=args.home))
    store = MatchStore(services.documents)
    if args.seed_live and not store.live_documents():
        seed_live(store)
    app = console_app(services=services, verifier=DevTokenVerifier("screenshots-invoker", TOKEN))
    driver = chromium()
    try:
        with served(app) as base:
            sign_in(driver, base, TOKEN)
            for name, path in page_list(services):
                driver.get(base + path)
                print(f"{screenshot(driver, args.out, name)}  {path}")
    finally:
        driver.quit()
        services.close()


if __name__ == "__main__":
    main()
