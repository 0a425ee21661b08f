"""The fixtures provider over HTTP on 127.0.0.1: the provider server's pattern and faults
(`ProviderServer`, `ProviderFaults`), with the fixtures API.

    with FixturesServer(SyntheticFixturesSource(seed=0), faults=ProviderFaults()) as base_url:
        httpx.get(f"{base_url}/fixtures", params={"tournament": "t1"}).json()

    GET /fixtures?tournament=T                  tournament, rounds, matches (fixture fields)
    GET /results?tournament=T[&as_of=ISO]       each match's status, score, status timestamp

An unknown tournament is 404, a missing tournament or bad as_of 400. Every request's
`Idempotency-Key` header is counted (`idempotency_keys`), so tests see that a retried request
carried the same key.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import datetime
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from shared.providers.fixtures import FixturesSource, UnknownTournament, fixtures_of, results_of
from shared.providers.server import ProviderServer, _ProviderRequestHandler

log = logging.getLogger("sportsflow.providers")

FIXTURES_ROUTES = ("/fixtures", "/results")


class FixturesServer(ProviderServer):
    def __init__(self, source: FixturesSource, **kwargs) -> None:
        super().__init__(source, **kwargs)  # type: ignore[arg-type]
        self.idempotency_keys: Counter[str] = Counter()


class _FixturesRequestHandler(_ProviderRequestHandler):
    provider: FixturesServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.provider._count(url.path)
        with self.provider._counts_lock:
            self.provider.idempotency_keys[self.headers.get("Idempotency-Key", "")] += 1
        if url.path not in FIXTURES_ROUTES:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no route {url.path}; routes: {list(FIXTURES_ROUTES)}"})
            return
        fault = self.provider._fault_for(url.path)
        if fault is not None and not self._apply(fault):
            return
        query = parse_qs(url.query)
        tournament = (query.get("tournament") or [""])[0]
        if not tournament:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "query parameter tournament=ID is required"})
            return
        try:
            as_of = datetime.fromisoformat(query["as_of"][0]) if query.get("as_of") else None
            if as_of is not None and as_of.tzinfo is None:
                raise ValueError("naive timestamp")
        except ValueError:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "as_of must be an ISO 8601 timestamp with offset"})
            return
        try:
            season = self.provider.source.season(tournament)
            body = fixtures_of(season) if url.path == "/fixtures" else results_of(season, tournament, as_of)
        except UnknownTournament as missing:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": str(missing)})
            return
        except Exception as error:  # the source's bug: say so, as a real provider's 500 would
            log.exception("provider.server.error", extra={"fields": {"route": url.path, "tournament": tournament}})
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(error).__name__}: {error}"})
            return
        self._send(HTTPStatus.OK, json.dumps(body).encode())


FixturesServer.request_handler = _FixturesRequestHandler
