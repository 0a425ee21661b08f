"""The live provider's HTTP API, as our code calls it (through the resilience layer).

Routes (served locally by `shared.live.feed.LiveProviderServer`):

    GET /live/diary?date=YYYY-MM-DD    {"matches": [{match_id, competition, home_team, away_team,
                                                     match_time (Unix s), cup}]}
    GET /live/detail_live              {"results": [<update>, ...]}  every live match, current state
    GET /live/data_update              {"results": [<update>, ...]}  matches changed in the last 120 s

An <update> has the fields of `LiveProviderUpdate` (match_id, status_id, provider_update_time,
home_score, away_score, kickoff_ts). A match is picked out of a list by its id, never by
position (invariant 13: no first-entry fallback).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from shared.live.model import LiveProviderUpdate, UpdateSource
from shared.resilience import ProviderClient, provider_client

log = logging.getLogger("sportsflow.live.provider")
PROVIDER_NAME = "live-provider"
ENV_URL = "SPORTSFLOW_LIVE_PROVIDER_URL"


class ProviderNotConfigured(RuntimeError):
    pass


@dataclass
class ParsedUpdates:
    updates: list[LiveProviderUpdate] = field(default_factory=list)
    invalid: list[tuple[Any, str]] = field(default_factory=list)  # (entry, reason)


def live_provider_url(default: str | None = None) -> str:
    url = os.environ.get(ENV_URL) or default
    if not url:
        raise ProviderNotConfigured(f"no live provider configured: set {ENV_URL} (or SPORTSFLOW_PROVIDER_URL) to "
                                    "its base URL (locally: `sportsflow live --synthetic N` prints one)")
    return url


class LiveProvider:
    def __init__(self, client: ProviderClient):
        self.client = client

    @classmethod
    def from_url(cls, base_url: str) -> "LiveProvider":
        return cls(provider_client(PROVIDER_NAME, base_url))

    def diary(self, day: str) -> list[dict[str, Any]]:
        body = self.client.get_json("/live/diary", {"date": day})
        return list(body.get("matches", [])) if isinstance(body, dict) else []

    def data_update(self) -> ParsedUpdates:
        return parse_updates(self.client.get_json("/live/data_update"), "data_update")

    def detail_live(self, match_id: str) -> LiveProviderUpdate | None:
        """The provider's current state of one match, selected by id; None if it is not listed."""
        parsed = parse_updates(self.client.get_json("/live/detail_live"), "detail_live")
        return select_match(parsed.updates, match_id)

    def close(self) -> None:
        self.client.close()


def select_match(updates: list[LiveProviderUpdate], match_id: str) -> LiveProviderUpdate | None:
    """The entry for `match_id` (the newest if listed twice), or None. Never another match's."""
    matching = [u for u in updates if u.match_id == match_id]
    return max(matching, key=lambda u: u.provider_update_time, default=None)


def parse_updates(body: Any, source: UpdateSource) -> ParsedUpdates:
    parsed = ParsedUpdates()
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        parsed.invalid.append((body, "response has no 'results' list"))
        return parsed
    for entry in results:
        try:
            if not isinstance(entry, dict):
                raise ValueError("an update must be an object")
            parsed.updates.append(LiveProviderUpdate(**{**entry, "source": source}))
        except (ValidationError, ValueError, TypeError) as error:
            parsed.invalid.append((entry, str(error)[:500]))
    return parsed
