"""A real HTTP sports-data provider on 127.0.0.1, serving a source's payloads, with faults on demand.

    with ProviderServer(SyntheticSource(seed=0), faults=ProviderFaults.chaos(7)) as base_url:
        httpx.get(f"{base_url}/schedule", params={"date": "2025-01-15"}).json()

Routes (`ROUTES`), each `GET <route>?date=YYYY-MM-DD` → the payload as JSON (the models of
`shared.providers.payloads`); an unknown route is 404, a missing or bad date 400. The
scrapers (Phase 1) call exactly these routes, whichever source is behind them.

Sources: anything with `label` and `payload(scraper, day)` (`ProviderSource`);
`open_source("synthetic" | "synthetic:SEED" | "replay:PATH")` builds one from the
`--source` spelling.
"""
from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Mapping, Protocol
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel

from shared.providers.faults import Fault, ProviderFaults
from shared.providers.payloads import Payload

log = logging.getLogger("sportsflow.providers")

# The provider's HTTP API: route -> the scraper (payload type) it serves.
ROUTES: dict[str, str] = {
    "/schedule": "schedule",
    "/boxscores/players": "player_boxscores",
    "/boxscores/teams": "team_boxscores",
    "/players": "player_registry",
    "/props": "prop_lines",
    "/injuries": "injury_report",
}


class ProviderSource(Protocol):
    label: str

    def payload(self, scraper: str, day: date) -> Payload | Any: ...


def open_source(spec: str) -> ProviderSource:
    """"synthetic" (seed 0), "synthetic:SEED" or "replay:PATH" (a directory in the ../shared/data layout)."""
    kind, _, argument = spec.partition(":")
    if kind == "synthetic":
        from shared.providers.synthetic import SyntheticSource
        if argument and not (argument.isascii() and argument.lstrip("-").isdigit()):
            raise ValueError(f"synthetic seed must be an integer: {spec!r}")
        return SyntheticSource(seed=int(argument or 0))
    if kind == "replay" and argument:
        from shared.providers.replay import ReplaySource
        return ReplaySource(Path(argument))
    raise ValueError(f"unknown provider source {spec!r}: use 'synthetic', 'synthetic:SEED' or 'replay:PATH'")


class ProviderServer:
    """`start()` binds a free port on 127.0.0.1 and serves from a background thread; `stop()` ends
    it, releasing any request held by a hang fault. Also a context manager yielding the base URL.
    Another provider API (e.g. shared.providers.fixtures_server) subclasses it and names its own
    `request_handler` (a `_ProviderRequestHandler` with its own `do_GET`)."""

    def __init__(self, source: ProviderSource, *, faults: ProviderFaults | None = None,
                 host: str = "127.0.0.1", port: int = 0, routes: Mapping[str, str] | None = None) -> None:
        """`routes` (path -> the name passed to `source.payload`) default to the scrapers' `ROUTES`."""
        self.source = source
        self.faults = faults
        self.routes = dict(ROUTES if routes is None else routes)
        self._address = (host, port)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._counts_lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the provider server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def request_counts(self) -> dict[str, int]:
        """Requests received per path (unknown paths included), faulted ones too."""
        with self._counts_lock:
            return dict(self._counts)

    def fault_counts(self) -> dict[str, int]:
        """Faults injected so far by kind ("error", "hang", "slow"); empty without faults."""
        return dict(self.faults.injected) if self.faults is not None else {}

    def start(self) -> str:
        if self._httpd is not None:
            return self.base_url
        self._stopping.clear()
        httpd = ThreadingHTTPServer(self._address, _handler_class(self, self.request_handler))
        httpd.daemon_threads = True  # a hung request never blocks shutdown
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="provider-server", daemon=True)
        self._thread.start()
        log.info("provider.server.started", extra={"fields": {"url": self.base_url, "source": self.source.label}})
        return self.base_url

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes hanging and slow requests
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- called by the request handler ---------------------------------------------------------
    def _count(self, path: str) -> None:
        with self._counts_lock:
            self._counts[path] += 1

    def _fault_for(self, route: str) -> Fault | None:
        return self.faults.decide(route) if self.faults is not None else None

    def _wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; False if the server is stopping meanwhile."""
        return not self._stopping.wait(seconds)


def _handler_class(server: ProviderServer, base: type["_ProviderRequestHandler"]) -> type[BaseHTTPRequestHandler]:
    return type("_Handler", (base,), {"provider": server})


class _ProviderRequestHandler(BaseHTTPRequestHandler):
    provider: ProviderServer
    server_version = "sportsflow-provider/1"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.provider._count(url.path)
        scraper = self.provider.routes.get(url.path)
        if scraper is None:
            routes = sorted(self.provider.routes)
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no route {url.path}; routes: {routes}"})
            return
        fault = self.provider._fault_for(url.path)
        if fault is not None and not self._apply(fault):
            return
        day = _parse_date(parse_qs(url.query).get("date", []))
        if day is None:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "query parameter date=YYYY-MM-DD is required"})
            return
        try:
            body = _body_of(self.provider.source.payload(scraper, day))
        except Exception as error:  # the source's bug: say so, as a real provider's 500 would
            log.exception("provider.server.error", extra={"fields": {"route": url.path, "date": day.isoformat()}})
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(error).__name__}: {error}"})
            return
        self._send(HTTPStatus.OK, body)

    def _apply(self, fault: Fault) -> bool:
        """Act out the fault; True when the request should still be answered normally."""
        if fault.kind == "error":
            self._send_json(fault.status, {"error": f"injected fault: HTTP {fault.status}"})
            return False
        if fault.kind == "hang":
            self.provider._wait(fault.seconds)
            self.close_connection = True  # no answer at all: the client times out
            return False
        return self.provider._wait(fault.seconds)  # slow, then answer (unless stopping)

    def _send_json(self, status: int, body: dict) -> None:
        self._send(status, json.dumps(body).encode())

    def _send(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout) before we answered

    def log_message(self, format: str, *args: object) -> None:  # http.server's signature
        log.debug("provider.server.request", extra={"fields": {"line": format % args}})


def _body_of(payload: Payload | Any) -> bytes:
    """A payload model as its JSON, or a plain JSON value (sources shaped like a third party's API)."""
    if isinstance(payload, BaseModel):
        return payload.model_dump_json().encode()
    return json.dumps(payload, separators=(",", ":")).encode()
ProviderServer.request_handler = _ProviderRequestHandler


def _parse_date(values: list[str]) -> date | None:
    if len(values) != 1:
        return None
    try:
        return date.fromisoformat(values[0])
    except ValueError:
        return None
