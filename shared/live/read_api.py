"""The live read API (`live_read_api`, HTTP): stored state only, never a provider call (invariants 4, 14).

    GET /matches/live              live matches (2, 3, 4, 5, 7), plus not-started ones whose
                                   match_time has passed within the last LIVE_WINDOW_SECONDS (invariant 6)
    GET /matches/diary?date=D      every match of the UTC date D, by match_time
    GET /matches/{match_id}        one match, 404 if unknown

Every match carries the stored `minute_text` (invariant 5: clients render it, never compute a
minute) and, when the watchdog's rules call it stale, `stale_reason`. The lists carry only what
a list shows (LIST_FIELDS); /matches/{id} carries every public field (PUBLIC_FIELDS).

The two list responses are read, serialized and gzipped once per CACHE_SECONDS (1 s, on the
store's clock) per instance and served as those bytes to every request meanwhile, with an
ETag (304 to If-None-Match): 100 concurrent clients cost one store read a second, not 100 (the
minute changes every 15 s, so a 1 s old list is never visibly behind). The cache holds at most
64 keys (/matches/live and the most recently asked diary dates). See response_cache.py.
"""
from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any

from shared.live.http import json_response, services_or_process
from shared.live.lifecycle import announce
from shared.live.response_cache import ResponseCache
from shared.live.store import MatchStore
from shared.live.watchdog import stale_reason

if TYPE_CHECKING:
    import flask

    from shared.bootstrap import Services

LIVE_WINDOW_SECONDS = 3 * 3600
PUBLIC_FIELDS = ("match_id", "competition", "home_team", "away_team", "match_time", "diary_date", "cup",
                 "status_id", "home_score", "away_score", "minute", "minute_text", "provider_update_time",
                 "last_event_ts", "updated_at", "first_half_kickoff_ts", "second_half_kickoff_ts",
                 "overtime_kickoff_ts")
LIST_FIELDS = ("match_id", "competition", "home_team", "away_team", "match_time", "cup", "status_id",
               "home_score", "away_score", "minute_text")
_MATCH_PATH = re.compile(r"^/matches/([A-Za-z0-9_-]{1,64})$")


def public(match: dict[str, Any], now: int, fields: tuple[str, ...] = PUBLIC_FIELDS) -> dict[str, Any]:
    shown = {name: match.get(name) for name in fields}
    reason = stale_reason(match, now)
    if reason:
        shown["stale_reason"] = reason
    return shown


def live_matches(store: MatchStore) -> list[dict[str, Any]]:
    now = store.now()
    matches = [d.data for d in store.live_documents()]
    matches += store.not_started_since(now - LIVE_WINDOW_SECONDS, now)
    return [public(m, now, LIST_FIELDS) for m in sorted(matches, key=lambda m: (m["match_time"], m["match_id"]))]


def diary_matches(store: MatchStore, day: str) -> list[dict[str, Any]]:
    now = store.now()
    return [public(m, now, LIST_FIELDS) for m in store.of_diary_date(day)]


CACHE = ResponseCache()


def _listing(matches: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {**extra, "matches": matches, "count": len(matches)}


def handle_read_request(request: "flask.Request", *, services: "Services | None" = None) -> "flask.Response":
    announce("live_read_api")
    if request.method != "GET":
        return json_response(405, {"error": "the live read API only answers GET"})
    store = MatchStore(services_or_process(services).documents)
    path = request.path.rstrip("/") or "/"
    if path == "/matches/live":
        return CACHE.get(store.documents, "live", lambda: _listing(live_matches(store))).response(request)
    if path == "/matches/diary":
        try:
            day = date.fromisoformat(request.args.get("date", "")).isoformat()  # one key per date, however spelt
        except ValueError:
            return json_response(400, {"error": "GET /matches/diary?date=YYYY-MM-DD (a UTC date)"})
        return CACHE.get(store.documents, f"diary:{day}",
                         lambda: _listing(diary_matches(store, day), date=day)).response(request)
    if found := _MATCH_PATH.match(path):
        match = store.get(found.group(1))
        if match is None:
            return json_response(404, {"error": f"no match {found.group(1)}: only diary-synced matches exist"})
        return json_response(200, public(match, store.now()))
    return json_response(404, {"error": "routes: /matches/live, /matches/diary?date=YYYY-MM-DD, /matches/{id}"})

