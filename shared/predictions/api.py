"""The `predictions_api` HTTP function (and `sportsflow serve predictions_api`), seed 003:

    GET /predictions?date=D[&player=ID][&market=M]    the projection the workers maintain
    GET /predictions/coverage?date=D                   requested / predicted / complete for the date

It reads stored state only (shared.predictions.projection, the batch ledger), never scans the
warehouse per request. Responses are cached per instance under the date's version token (its
current batch and whether that batch completed): a newer batch or a completion changes the
token and drops the date's entries at once; while a batch is still filling in, entries live
at most `PROVISIONAL_TTL_S`. The token itself is re-read at most once per `TOKEN_TTL_S`."""
from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from datetime import date
from typing import Any, Callable

from shared.pipeline import data_versions
from shared.ports.documents import DocumentStore
from shared.predictions import projection
from shared.predictions.batches import BatchLedger
from shared.predictions.fan_out import FEATURES, MARKETS

TOKEN_TTL_S = 1.0
PROVISIONAL_TTL_S = 2.0
MAX_ENTRIES = 20_000
MAX_PARAMETER_CHARS = 32
MIN_DATE, MAX_DATE = date(2000, 1, 1), date(2100, 12, 31)
MAX_TOKEN_DATES = 1_000


class BadRequest(ValueError):
    pass


class PredictionsCache:
    def __init__(self, documents: DocumentStore, *, clock: Callable[[], float] = time.monotonic):
        self._documents = documents
        self._clock = clock
        self._tokens: dict[str, tuple[float, tuple]] = {}
        self._entries: OrderedDict[tuple, tuple[tuple, float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def token(self, day: date) -> tuple:
        now = self._clock()
        with self._lock:
            cached = self._tokens.get(day.isoformat())
            if cached and now - cached[0] < TOKEN_TTL_S:
                return cached[1]
        pointer = BatchLedger(self._documents).pointer(day) or {}
        token = (pointer.get("batch_id"), pointer.get("generation"),
                 pointer.get("completed_batch_id") == pointer.get("batch_id") and pointer.get("batch_id") is not None)
        with self._lock:
            if len(self._tokens) >= MAX_TOKEN_DATES:
                self._tokens.clear()
            self._tokens[day.isoformat()] = (now, token)
        return token

    def get(self, key: tuple, day: date, load: Callable[[], Any]) -> tuple[Any, bool]:
        """(value, whether it came from the cache)."""
        token, now = self.token(day), self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry and entry[0] == token and (token[2] or now - entry[1] < PROVISIONAL_TTL_S):
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[2], True
            self.misses += 1
        value = load()
        with self._lock:
            self._entries[key] = (token, now, value)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
        return value, False

    def invalidate(self, day: date | None = None) -> None:
        """Explicit invalidation (a newer version landed): drop the date's entries, or all."""
        with self._lock:
            if day is None:
                self._entries.clear()
                self._tokens.clear()
                return
            self._tokens.pop(day.isoformat(), None)
            for key in [k for k in self._entries if k[1] == day.isoformat()]:
                del self._entries[key]

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


def predictions(documents: DocumentStore, cache: PredictionsCache, args: dict[str, str]) -> tuple[int, bytes, bool]:
    """(status, the JSON body, served from the cache). The cache keeps the encoded body: a hit
    costs a lookup, not a serialisation."""
    day = _date(args)
    player = _player(args)
    market = _market(args)
    key = ("predictions", day.isoformat(), player, market)
    (status, body), hit = cache.get(key, day, lambda: _predictions_response(documents, day, player, market))
    return status, body, hit


def coverage(documents: DocumentStore, cache: PredictionsCache, args: dict[str, str]) -> tuple[int, bytes, bool]:
    day = _date(args)
    (status, body), hit = cache.get(("coverage", day.isoformat()), day,
                                    lambda: (200, _encoded(_coverage_body(documents, day))))
    return status, body, hit


def _predictions_response(documents: DocumentStore, day: date, player: int | None, market: str | None
                          ) -> tuple[int, bytes]:
    body = _predictions_body(documents, day, player, market)
    if player is not None and not body["predictions"]:
        return 404, _encoded({"error": f"no predictions for player {player} on {day}", **body})
    return 200, _encoded(body)


def _encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body, default=str, separators=(",", ":")).encode()


def _predictions_body(documents: DocumentStore, day: date, player: int | None, market: str | None) -> dict:
    found = [projection.read_player(documents, day, player)] if player is not None else projection.read_date(documents,
                                                                                                              day)
    players = [_public(doc, market) for doc in found if doc]
    return {"date": day.isoformat(), "market": market, "count": len(players), "predictions": players}


def _public(document: dict[str, Any], market: str | None) -> dict[str, Any]:
    markets = document["markets"] if market is None else {market: document["markets"].get(market, {})}
    return {k: document.get(k) for k in ("player_id", "player_name", "team_abbr", "opponent_abbr", "game_id",
                                          "batch_id", "generation")} | {"markets": markets}


def _coverage_body(documents: DocumentStore, day: date) -> dict:
    ledger = BatchLedger(documents)
    pointer = ledger.pointer(day)
    if pointer is None:
        return {"date": day.isoformat(), "requested": 0, "predicted": 0, "coverage": 0.0, "complete": False,
                "batch_id": None}
    batch = ledger.get(pointer["batch_id"])
    predicted = ledger.done_count(batch.batch_id)
    current = data_versions.current_version(documents, FEATURES, day)
    superseded = current is not None and current != batch.feature_data_version
    return {"date": day.isoformat(), "batch_id": batch.batch_id, "generation": batch.generation,
            "requested": batch.expected, "predicted": predicted,
            "coverage": round(predicted / batch.expected, 4) if batch.expected else 0.0,
            "complete": pointer.get("completed_batch_id") == batch.batch_id and not superseded,
            "superseded": superseded}


def _date(args: dict[str, str]) -> date:
    value = args.get("date")
    if not value:
        raise BadRequest("date is required (YYYY-MM-DD)")
    text = str(value)[:MAX_PARAMETER_CHARS]
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise BadRequest("date must be YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRequest("date must be YYYY-MM-DD") from None
    if not MIN_DATE <= day <= MAX_DATE:
        raise BadRequest(f"date must be between {MIN_DATE} and {MAX_DATE}")
    return day


def _player(args: dict[str, str]) -> int | None:
    value = args.get("player")
    if value in (None, ""):
        return None
    if not (str(value).isascii() and str(value).isdigit()) or len(str(value)) > 12:
        raise BadRequest("player must be an NBA person id (digits)")
    return int(value)


def _market(args: dict[str, str]) -> str | None:
    value = args.get("market") or None
    if value is not None and value not in MARKETS:
        raise BadRequest(f"market must be one of {', '.join(MARKETS)}")
    return value


ROUTES = {"/predictions": predictions, "/predictions/coverage": coverage}
_cache: PredictionsCache | None = None
_cache_lock = threading.Lock()


def process_cache(documents: DocumentStore) -> PredictionsCache:
    global _cache
    with _cache_lock:
        if _cache is None:
            _cache = PredictionsCache(documents)
        return _cache


def app(request):
    """The topology's handler for predictions_api (authenticated by the HTTP entry point)."""
    import flask

    from shared.runtime.entrypoints import process_services

    if request.method not in ("GET", "HEAD"):
        return flask.Response(json.dumps({"error": "use GET"}), status=405, mimetype="application/json",
                              headers={"Allow": "GET, HEAD"})
    documents = process_services().documents
    route = ROUTES[request.path.rstrip("/")]
    try:
        status, body, hit = route(documents, process_cache(documents), request.args)
    except BadRequest as err:
        status, body, hit = 400, _encoded({"error": str(err)}), False
    return flask.Response(body, status=status, mimetype="application/json",
                          headers={"Cache-Control": "private, max-age=1", "X-Cache": "hit" if hit else "miss"})
