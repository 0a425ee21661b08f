"""What stands in for Pub/Sub's OIDC push token on the emulator, and the counters behind `dev status`.

The deployed push subscriptions carry an OIDC token that Cloud Run verifies (infra/pubsub.tf).
The Pub/Sub emulator sends no token and no custom header, so `dev up` puts the home's
development token in the push endpoint's query (`?token=...`). `PushGate`, a WSGI middleware in
front of functions-framework in every dev function process, takes it out of the query and
hands it on as `Authorization: Bearer <token>`:
- HTTP functions (e.g. the Phase 5 coordinator's `/trigger` and `/ready` push routes) then
  authenticate it themselves, like any caller (shared/runtime/auth.py);
- CloudEvent functions have no HTTP layer of their own (Cloud Run checks the invoker there), so
  the gate verifies the token itself: 401 without one, 403 with a wrong one.
A push URL with the token is only ever stored in the emulator (dev.json records it without).

The gate also answers `GET /_dev/health` (the dev launcher's route, not the function's) with the
push deliveries it saw per subscription: delivered, acked (2xx), nacked (other), in flight and
awaiting redelivery (nacked and not acked since).
"""
from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from typing import Callable, Iterable
from urllib.parse import parse_qsl, urlencode

from shared.runtime import auth

HEALTH_PATH = "/_dev/health"
TOKEN_PARAMETER = "token"


def push_endpoint(base_url: str, function_trigger: str, *, project: str, topic: str, path: str,
                  token: str | None) -> str:
    """Where a subscription pushes: an HTTP function's push route, or for a CloudEvent function the
    topic's path (functions-framework takes the event `source` from it)."""
    route = path if function_trigger == "http" else f"/projects/{project}/topics/{topic}"
    return base_url + route + (f"?{urlencode({TOKEN_PARAMETER: token})}" if token else "")


class PushCounters:
    """Push deliveries per subscription, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = defaultdict(lambda: {"delivered": 0, "acked": 0, "nacked": 0,
                                                                        "in_flight": 0})
        self._waiting: dict[str, set[str]] = defaultdict(set)

    def started(self, subscription: str) -> None:
        with self._lock:
            self._counts[subscription]["delivered"] += 1
            self._counts[subscription]["in_flight"] += 1

    def finished(self, subscription: str, message_id: str, acked: bool) -> None:
        with self._lock:
            counts = self._counts[subscription]
            counts["in_flight"] -= 1
            counts["acked" if acked else "nacked"] += 1
            if acked:
                self._waiting[subscription].discard(message_id)
            elif message_id:
                self._waiting[subscription].add(message_id)

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {name: {**counts, "awaiting_redelivery": len(self._waiting[name])}
                    for name, counts in self._counts.items()}


class PushGate:
    """WSGI middleware: the push token into the Authorization header, the health route, the counters."""

    def __init__(self, app: Callable, *, function: str, verify_events: bool,
                 verifier: "auth.DevTokenVerifier", counters: PushCounters | None = None):
        self._app = app
        self._function = function
        self._verify_events = verify_events
        self._verifier = verifier
        self.counters = counters or PushCounters()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") == "GET":
            return _json(start_response, "200 OK", {"function": self._function, "pid": os.getpid(),
                                                    "subscriptions": self.counters.snapshot()})
        _token_to_header(environ)
        if self._verify_events:
            try:
                self._verifier.verify({"Authorization": environ.get("HTTP_AUTHORIZATION", "")})
            except auth.AuthError as refused:
                status = "401 Unauthorized" if refused.status == 401 else "403 Forbidden"
                return _json(start_response, status, {"error": str(refused)})
        subscription, message_id = _push_identity(environ)
        if subscription is None:
            return self._app(environ, start_response)
        return self._counted(environ, start_response, subscription, message_id)

    def _counted(self, environ, start_response, subscription: str, message_id: str):
        self.counters.started(subscription)
        outcome = {"acked": False}

        def recording_start_response(status: str, headers, exc_info=None):
            outcome["acked"] = status[:1] == "2"
            return start_response(status, headers, exc_info)

        try:
            body = b"".join(self._app(environ, recording_start_response))
        finally:
            self.counters.finished(subscription, message_id, outcome["acked"])
        return [body]


def _token_to_header(environ: dict) -> None:
    query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    tokens = [value for key, value in query if key == TOKEN_PARAMETER]
    if not tokens:
        return
    environ["QUERY_STRING"] = urlencode([(k, v) for k, v in query if k != TOKEN_PARAMETER])
    environ.setdefault("HTTP_AUTHORIZATION", f"Bearer {tokens[0]}")


def _push_identity(environ: dict) -> tuple[str | None, str]:
    """(subscription, message id) of a Pub/Sub push body; the body stays readable for the app."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None, ""
    import io
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None, ""
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        body = json.loads(raw)
    except ValueError:
        return None, ""
    if not isinstance(body, dict) or not isinstance(body.get("subscription"), str):
        return None, ""
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    return body["subscription"].rsplit("/", 1)[-1], str(message.get("messageId") or message.get("message_id") or "")


def _json(start_response: Callable, status: str, body: dict) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
