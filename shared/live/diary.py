"""The daily diary sync: the only thing that creates match documents (invariant 14).

Reads the provider's diary for each date and creates every match not yet stored, with
`match_time` converted to UTC Unix seconds (invariant 1: no local offset is stored). An
existing match is never touched, so running the sync twice (or during a live match) changes
nothing: the number of documents does not grow and no provider state is overwritten.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shared.live.http import json_response, request_body, services_or_process
from shared.live.lifecycle import announce
from shared.live.model import MatchState
from shared.live.provider import LiveProvider, ProviderNotConfigured, live_provider_url
from shared.live.store import MatchStore
from shared.resilience import ProviderError

if TYPE_CHECKING:
    import flask

    from shared.bootstrap import Services

log = logging.getLogger("sportsflow.live.diary")


class BadDiaryRequest(ValueError):
    pass


def unix_seconds(value: Any) -> int:
    """A provider time (Unix seconds, or ISO 8601 with an offset) as UTC Unix seconds."""
    if isinstance(value, bool):
        raise ValueError("match_time must be Unix seconds or an ISO 8601 time with offset")
    if isinstance(value, (int, float)):
        return int(value)
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"match_time {value!r} has no UTC offset: refusing to guess its time zone")
    return int(moment.timestamp())


def utc_date(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).date().isoformat()


def match_from_diary(entry: dict[str, Any], now: int) -> MatchState:
    match_time = unix_seconds(entry["match_time"])
    return MatchState(match_id=str(entry["match_id"]), competition=str(entry.get("competition", "")),
                      home_team=str(entry.get("home_team", "")), away_team=str(entry.get("away_team", "")),
                      match_time=match_time, diary_date=utc_date(match_time), cup=bool(entry.get("cup", False)),
                      created_at=now)


def sync_day(store: MatchStore, provider: LiveProvider, day: str) -> dict[str, int]:
    counts = {"listed": 0, "created": 0, "existing": 0, "invalid": 0}
    for entry in provider.diary(day):
        counts["listed"] += 1
        try:
            match = match_from_diary(entry, store.now())
        except (KeyError, ValueError, TypeError, ValidationError) as error:
            counts["invalid"] += 1
            log.warning("live diary entry invalid", extra={"fields": {"date": day, "error": str(error)[:300]}})
            continue
        counts["created" if store.create(match) else "existing"] += 1
    log.info("live diary synced", extra={"fields": {"date": day, **counts}})
    return counts


def days_of(body: dict[str, Any], today: date) -> list[str]:
    """{"date": "today" | "YYYY-MM-DD", "days": N} -> N consecutive dates (default today and tomorrow)."""
    raw = str(body.get("date", "today"))
    try:
        first = today if raw == "today" else date.fromisoformat(raw)
        days = int(body.get("days", 2))
    except ValueError as error:
        raise BadDiaryRequest(f"date must be 'today' or YYYY-MM-DD and days an integer: {error}") from None
    if not 1 <= days <= 14:
        raise BadDiaryRequest("days must be within 1..14")
    return [(first + timedelta(days=n)).isoformat() for n in range(days)]


def handle_diary_request(request: "flask.Request", *, services: "Services | None" = None,
                         provider: LiveProvider | None = None) -> "flask.Response":
    """The `live_diary_sync` function (HTTP, scheduled daily)."""
    announce("live_diary_sync")
    services = services_or_process(services)
    store = MatchStore(services.documents)
    try:
        days = days_of(request_body(request), datetime.fromtimestamp(store.now(), tz=timezone.utc).date())
    except BadDiaryRequest as error:
        return json_response(400, {"error": str(error)})
    own = provider is None
    try:
        provider = provider or LiveProvider.from_url(live_provider_url(services.settings.provider_url))
    except ProviderNotConfigured as error:
        return json_response(500, {"error": str(error)})
    try:
        return json_response(200, {day: sync_day(store, provider, day) for day in days})
    except ProviderError as error:
        return json_response(503, {"error": f"live provider unavailable: {error}; the next scheduled sync retries"})
    finally:
        if own:
            provider.close()
