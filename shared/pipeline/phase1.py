"""Phase 1, collection: a scraper fetches one provider payload for a date, stores it raw, announces it.

    completed = run_scraper("schedule", date(2025, 1, 15), services=services, client=client,
                            publish=bus_publisher(services.bus, run_id=..., correlation_id=...))

One run, in order:

1. GET the scraper's route (`SCRAPER_PATHS`) with `?date=D` through a `ProviderClient`
   (timeout, retries, circuit breaker, rate limit: SPEC §3). A `ProviderError` after retries,
   or from an open breaker, propagates: the provider may be back later, the caller retries
   (the scheduler job, a backfill).
2. Validate the body with the payload model, and check it is about D. Junk (not JSON, not the
   model, another date) is never stored: a `ScraperCompleted(success=False, error=...)` is
   published and returned.
3. Store the canonical JSON bytes (sorted keys, compact) in the raw store (the raw bucket,
   whose lifecycle deletes them; never the evidence store) under
   `raw/{scraper}/{date}/{sha256}.json`. The key is the content hash, so a repeat with the same
   data is an idempotent no-op and changed data gets a new key.
4. Publish `ScraperCompleted(success=True, payload_uri=key, payload_sha256, records, source)`
   on `phase1-scrapers-complete`.

`handle_scrape_request` is the `phase1_scrapers` HTTP function that Cloud Scheduler calls.
"""
from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from shared.contracts.codec import encode
from shared.contracts.envelope import Message, new_id
from shared.contracts.messages import ScraperCompleted
from shared.pipeline.processor import Publish
from shared.pipeline.raw_payloads import store_raw_payload
from shared.providers.payloads import PAYLOADS, SCRAPERS, Payload
from shared.providers.server import ROUTES
from shared.resilience import (
    CircuitOpenError,
    ProviderClient,
    ProviderError,
    ProviderResponseInvalid,
    ProviderUnavailable,
    RateLimitExceeded,
    provider_client,
)

if TYPE_CHECKING:
    import flask

    from shared.bootstrap import Services
    from shared.ports.bus import MessageBus

log = logging.getLogger("sportsflow.pipeline.phase1")

TOPIC = "phase1-scrapers-complete"
FUNCTION_NAME = "phase1_scrapers"
PROVIDER_NAME = "nba-stats"
# The scrapers of a date's games: a date whose schedule lists none runs none of them.
GAME_SCRAPERS = frozenset({"schedule", "team_boxscores", "player_boxscores", "prop_lines", "injury_report"})
# The provider's history starts with the 2021-22 season; beyond today it knows a week of schedules.
FIRST_PROVIDER_DATE = date(2021, 10, 1)
LOOKAHEAD = timedelta(days=7)
SCRAPER_PATHS: dict[str, str] = {scraper: path for path, scraper in ROUTES.items()}
# Matches the scheduler jobs of the topology: box scores after the night's games, the rest hourly.
SCRAPER_GROUPS: dict[str, tuple[str, ...]] = {
    "daily": ("player_boxscores", "team_boxscores", "player_registry"),
    "hourly": ("schedule", "prop_lines", "injury_report"),
    "all": SCRAPERS,
}
# NBA game dates are US Eastern dates: "today" is the league's today.
LEAGUE_TIME_ZONE = ZoneInfo("America/New_York")
# Errors after which waiting helps: the HTTP function answers 503 so the scheduler retries.
_TRY_LATER = (ProviderUnavailable, CircuitOpenError, RateLimitExceeded)


# --- one scraper ---------------------------------------------------------------------------
def run_scraper(scraper: str, day: date, *, services: "Services", client: ProviderClient, publish: Publish,
                source_label: str | None = None, now: datetime | None = None) -> ScraperCompleted:
    """Fetch, validate, store and announce one payload (see the module docstring).

    `source_label` names the data source in the completion ("synthetic", "replay:PATH");
    by default the payload's own `source`. `now` is unused since raw payloads carry no retention
    of their own (the raw bucket's lifecycle expires them); kept for callers."""
    if scraper not in SCRAPER_PATHS:
        raise ValueError(f"unknown scraper {scraper!r}: use one of {', '.join(SCRAPERS)}")
    try:
        body = client.get_json(SCRAPER_PATHS[scraper], {"date": day.isoformat()})
        payload = _validated(scraper, day, body)
    except (ValidationError, ProviderResponseInvalid, _WrongDate) as error:
        return _announce_invalid(scraper, day, error, publish, source_label or "unknown")
    stored = store_raw_payload(services, scraper, day, canonical_json(payload))
    key, sha256 = stored.key, stored.sha256
    completed = ScraperCompleted(scraper=scraper, game_date=day, success=True, payload_uri=key,
                                 payload_sha256=sha256, records=record_count(payload),
                                 source=source_label or payload.source)
    publish(TOPIC, completed)
    log.info("scraper.completed", extra={"fields": {"scraper": scraper, "game_date": day.isoformat(),
                                                     "records": completed.records, "payload_uri": key}})
    return completed


def canonical_json(payload: Payload) -> bytes:
    """The same payload always gives the same bytes (so the same key, so idempotent storage)."""
    return json.dumps(payload.model_dump(mode="json"), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def record_count(payload: Payload) -> int:
    for field in ("games", "rows", "players"):
        if hasattr(payload, field):
            return len(getattr(payload, field))
    return 0


class _WrongDate(ValueError):
    """The provider answered, validly, about another date than the one asked for."""


def _validated(scraper: str, day: date, body: Any) -> Payload:
    payload = PAYLOADS[scraper].model_validate(body)
    if payload.as_of != day:
        raise _WrongDate(f"asked for {day}, the payload is as of {payload.as_of}")
    items = getattr(payload, "games", None) or getattr(payload, "rows", None) or ()
    stray = sorted({str(item.game_date) for item in items if getattr(item, "game_date", day) != day})
    if stray:
        raise _WrongDate(f"asked for {day}, the payload has rows dated {', '.join(stray[:5])}")
    return payload


def _announce_invalid(scraper: str, day: date, error: Exception, publish: Publish, source: str) -> ScraperCompleted:
    reason = f"invalid provider data, not stored: {_describe(error)}"
    failed = ScraperCompleted(scraper=scraper, game_date=day, success=False, error=reason[:4000], source=source)
    publish(TOPIC, failed)
    log.error("scraper.invalid_payload", extra={"fields": {"scraper": scraper, "game_date": day.isoformat(),
                                                            "reason": reason[:500]}})
    return failed


def _describe(error: Exception) -> str:
    if isinstance(error, ValidationError):
        problems = error.errors(include_url=False)
        shown = "; ".join(f"{'.'.join(map(str, p['loc'])) or '<root>'}: {p['msg']}" for p in problems[:5])
        return f"{len(problems)} validation error(s): {shown}"
    return str(error)


# --- publishing ----------------------------------------------------------------------------
def bus_publisher(bus: "MessageBus", *, run_id: str, correlation_id: str,
                  producer: str = FUNCTION_NAME) -> Publish:
    """A `publish(topic, message)` that wraps each message in an envelope with these ids."""
    def publish(topic: str, message: Message) -> str:
        encoded = encode(message, run_id=run_id, correlation_id=correlation_id, producer=producer)
        return bus.publish(topic, encoded.data, encoded.attributes)
    return publish


# --- the HTTP function ---------------------------------------------------------------------
class BadScrapeRequest(ValueError):
    """The request body or query does not say which scrapers to run for which date."""


def parse_scrape_request(body: Any, *, today: date) -> tuple[tuple[str, ...], date]:
    """(scrapers, date) from `{"scrapers": "daily"|"hourly"|"all"|[names]|"a,b", "date": ...}`.

    `date` is "YYYY-MM-DD", "today" or "yesterday"; when absent, "daily" means yesterday
    (last night's games) and everything else today."""
    if not isinstance(body, dict):
        raise BadScrapeRequest(f"expected a JSON object like {{\"scrapers\": \"daily\", \"date\": \"yesterday\"}}, "
                               f"got {type(body).__name__}")
    unknown = sorted(set(body) - {"scrapers", "date"})
    if unknown:
        raise BadScrapeRequest(f"unknown field(s) {unknown}: only 'scrapers' and 'date' are accepted")
    requested = body.get("scrapers", "all")
    scrapers = _scrapers(requested)
    default_day = "yesterday" if requested == "daily" else "today"
    return scrapers, _day(body.get("date", default_day), today)


def _scrapers(requested: Any) -> tuple[str, ...]:
    if isinstance(requested, str):
        if requested in SCRAPER_GROUPS:
            return SCRAPER_GROUPS[requested]
        requested = [name.strip() for name in requested.split(",") if name.strip()]
    if not isinstance(requested, list) or not requested or not all(isinstance(n, str) for n in requested):
        raise BadScrapeRequest(f"'scrapers' must be one of {sorted(SCRAPER_GROUPS)} or a non-empty list of "
                               f"scraper names, got {requested!r}")
    unknown = [name for name in requested if name not in SCRAPER_PATHS]
    if unknown:
        raise BadScrapeRequest(f"unknown scraper(s) {unknown}: use a group ({', '.join(sorted(SCRAPER_GROUPS))}) "
                               f"or scraper names {list(SCRAPERS)}")
    return tuple(dict.fromkeys(requested))


def _day(value: Any, today: date) -> date:
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadScrapeRequest(f"'date' must be YYYY-MM-DD, 'today' or 'yesterday', got {str(value)[:40]!r}") from None
    earliest, latest = scrapable_dates(today)
    if not earliest <= day <= latest:
        raise BadScrapeRequest(f"'date' {day} is outside the dates the provider has data for: use a date from "
                               f"{earliest} (the start of the provider's first season) to {latest} "
                               f"({LOOKAHEAD.days} days after today)")
    return day


def scrapable_dates(today: date) -> tuple[date, date]:
    """The dates a scrape may ask for: from the first season the provider knows to a short
    look-ahead past today (schedules and prop lines are published a few days early). Every
    other date would only cost a fetch and a stored object."""
    return FIRST_PROVIDER_DATE, today + LOOKAHEAD


def league_today(now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(LEAGUE_TIME_ZONE).date()


def handle_scrape_request(request: "flask.Request", *, services: "Services | None" = None,
                          client: ProviderClient | None = None, now: datetime | None = None) -> "flask.Response":
    """The `phase1_scrapers` HTTP function: run the requested scrapers for a date.

    200: every scraper stored its payload. 400: the request is wrong (the message says how).
    502: the provider served invalid data (a failed completion was published). 503 (with
    Retry-After): the provider is unavailable or its circuit is open; try later. 500: the
    function has no provider URL (SPORTSFLOW_PROVIDER_URL). Keyword arguments are for tests."""
    try:
        scrapers, day = parse_scrape_request(_request_body(request), today=league_today(now))
    except BadScrapeRequest as error:
        return _json_response(400, {"error": str(error)})
    if services is None:
        from shared.runtime.entrypoints import process_services
        services = process_services()
    own_client = client is None
    if own_client:
        if not services.settings.provider_url:
            return _json_response(500, {"error": "no provider configured: set SPORTSFLOW_PROVIDER_URL to the "
                                                 "provider's base URL (locally: a running provider server)"})
        client = provider_client(PROVIDER_NAME, services.settings.provider_url)
    run_id, correlation_id = new_id(), new_id()
    publish = bus_publisher(services.bus, run_id=run_id, correlation_id=correlation_id)
    try:
        if set(scrapers) & GAME_SCRAPERS and _no_games(day, client):
            return _json_response(200, {"date": day.isoformat(), "run_id": run_id, "correlation_id": correlation_id,
                                        "ok": True, "no_games": True, "results": []})
        results = [_run_one(scraper, day, services, client, publish, now) for scraper in scrapers]
    finally:
        if own_client:
            client.close()
    status = _status_of(results)
    summary = {"date": day.isoformat(), "run_id": run_id, "correlation_id": correlation_id,
               "ok": status == 200, "results": results}
    log.info("phase1.request.done", extra={"fields": {"date": day.isoformat(), "status": status, "run_id": run_id,
                                                      "scrapers": list(scrapers)}})
    response = _json_response(status, summary)
    if status == 503:
        response.headers["Retry-After"] = str(_retry_after(results))
    return response


def _no_games(day: date, client: ProviderClient) -> bool:
    """A date whose schedule lists no game scrapes and announces nothing, so nothing downstream is
    triggered; the response and the log say so (Phase 1 holds no document-store grant, so the
    `no_game_dates` record is the runner's). When the schedule cannot be read here, the scrapers
    run as usual and report the provider's state themselves (503, or a failed completion)."""
    from shared.pipeline import no_games
    try:
        if no_games.schedule_lists_games(client.get_json, day):
            return False
    except Exception:  # noqa: BLE001 - the schedule scraper below meets the same error and reports it
        return False
    log.info("phase1.no_games", extra={"fields": {"date": day.isoformat(), "provider": PROVIDER_NAME}})
    return True


def _run_one(scraper: str, day: date, services: "Services", client: ProviderClient, publish: Publish,
             now: datetime | None) -> dict[str, Any]:
    try:
        completed = run_scraper(scraper, day, services=services, client=client, publish=publish, now=now)
    except _TRY_LATER as error:
        wait = getattr(error, "seconds_until_half_open", None)
        return {"scraper": scraper, "success": False, "retry": True, "error": str(error),
                "retry_after_seconds": round(wait, 1) if wait else None}
    except ProviderError as error:
        return {"scraper": scraper, "success": False, "retry": False, "error": str(error)}
    return {"scraper": scraper, "success": completed.success, "retry": False, "error": completed.error,
            "payload_uri": completed.payload_uri, "records": completed.records}


def _status_of(results: Iterable[dict[str, Any]]) -> int:
    results = list(results)
    if any(r.get("retry") for r in results):
        return 503
    return 200 if all(r["success"] for r in results) else 502


def _retry_after(results: list[dict[str, Any]]) -> int:
    waits = [r["retry_after_seconds"] for r in results if r.get("retry_after_seconds")]
    return max(1, int(max(waits, default=60)))


def _request_body(request: "flask.Request") -> Any:
    """The JSON body of a POST (what Cloud Scheduler sends), else the query arguments."""
    if request.get_data(cache=True):
        body = request.get_json(force=True, silent=True)
        if body is None:
            raise BadScrapeRequest("the request body is not JSON")
        return body
    return request.args.to_dict(flat=True)


def _json_response(status: int, body: dict[str, Any]) -> "flask.Response":
    import flask
    return flask.Response(json.dumps(body), status=status, mimetype="application/json")

