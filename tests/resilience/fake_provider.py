"""A real HTTP provider on 127.0.0.1 that fails on command, for testing the resilience layer.

    with FakeProvider() as provider:
        provider.then(Respond(500), Respond(503))     # the next two requests fail
        ...                                           # then the default: 200 {"ok": true}
        provider.request_count                        # every request that reached the server

Behaviours: `Respond(status, body)`, `Slow(seconds, then)` (answers late; `hang()` is a Slow
longer than any test timeout), `Held(then)` (answers when the test calls `release()`), and
`Drop()` (closes the connection without answering).
"""
from __future__ import annotations

import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union


@dataclass(frozen=True)
class Respond:
    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})  # dict/list → JSON; str/bytes sent as is


@dataclass(frozen=True)
class Slow:
    seconds: float
    then: Respond = field(default_factory=Respond)


@dataclass(frozen=True)
class Held:
    then: Respond = field(default_factory=Respond)
    max_seconds: float = 5.0


@dataclass(frozen=True)
class Drop:
    pass


Behaviour = Union[Respond, Slow, Held, Drop]


def hang(seconds: float = 5.0) -> Slow:
    """Answer only after `seconds` (released early when the provider stops)."""
    return Slow(seconds)


class FakeProvider:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[Behaviour] = deque()
        self._default: Behaviour = Respond()
        self._paths: list[str] = []
        self._request_seen = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._held = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-provider", daemon=True
        )

    # --- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> FakeProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._held.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- commanding -------------------------------------------------------------------

    def then(self, *behaviours: Behaviour) -> FakeProvider:
        """Queue behaviours for the next requests, in order; afterwards the default applies."""
        with self._lock:
            self._script.extend(behaviours)
        return self

    def fail_then_succeed(self, failures: int, status: int = 500) -> FakeProvider:
        return self.then(*[Respond(status, {"error": "injected"})] * failures)

    def always(self, behaviour: Behaviour) -> FakeProvider:
        with self._lock:
            self._default = behaviour
        return self

    def release(self) -> None:
        """Let every `Held` request answer."""
        self._held.set()

    # --- observing --------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._paths)

    @property
    def paths(self) -> list[str]:
        with self._lock:
            return list(self._paths)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        with self._request_seen:
            return self._request_seen.wait_for(lambda: len(self._paths) >= count, timeout=timeout)

    # --- serving (handler threads) ----------------------------------------------------

    def _next_behaviour(self, path: str) -> Behaviour:
        with self._request_seen:
            self._paths.append(path)
            self._request_seen.notify_all()
            return self._script.popleft() if self._script else self._default

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        behaviour = self._next_behaviour(handler.path)
        if isinstance(behaviour, Drop):
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if isinstance(behaviour, Slow):
            self._stopping.wait(behaviour.seconds)
            behaviour = behaviour.then
        elif isinstance(behaviour, Held):
            self._held.wait(behaviour.max_seconds)
            behaviour = behaviour.then
        _write(handler, behaviour)


def _write(handler: BaseHTTPRequestHandler, response: Respond) -> None:
    body = response.body
    if isinstance(body, (dict, list)):
        payload, content_type = json.dumps(body).encode(), "application/json"
    else:
        payload, content_type = (body.encode() if isinstance(body, str) else body), "text/plain"
    try:
        handler.send_response(response.status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (timed out) before we answered


def _handler_for(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            provider._serve(self)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    return Handler


def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a port we bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
