"""functions-framework entry points. A function's main.py is one line:

    handle = pubsub_entry_point("phase3_to_phase4_orchestrator")   # Pub/Sub push (CloudEvent)
    handle = http_entry_point("phase1_scrapers")                   # HTTP (Cloud Scheduler)
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import time
from typing import Callable

import functions_framework
from werkzeug.exceptions import RequestEntityTooLarge

from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts.envelope import new_id
from shared.metrics import invocations
from shared.observability.logging import configure_logging, log_context
from shared.runtime import auth
from shared.runtime.handlers import resolve_handler
from shared.runtime.http_limits import Refusal, Routes, body_refusal
from shared.runtime.pubsub_function import Handler, PubSubFunction, invocation_rate_log
from shared.runtime.rate_limit import CallerRateLimit, rate_limit_per_minute
from shared.topology import TOPOLOGY

_services: Services | None = None
_services_lock = threading.Lock()


def process_services() -> Services:
    """One Services per process (Cloud Functions reuse instances across invocations)."""
    global _services
    with _services_lock:
        if _services is None:
            configure_logging()
            _services = Services(Settings.from_env())
            if _services.settings.backend == "local" and os.environ.get(EMBEDDED_TOPOLOGY) == "1":
                _deploy_embedded(_services)
        return _services


EMBEDDED_TOPOLOGY = "SPORTSFLOW_EMBEDDED_TOPOLOGY"


def _deploy_embedded(services: Services) -> None:
    """`sportsflow serve` on the local backend: the served function's process also runs the rest
    of the topology in process (the embedded bus, dispatching on threads), so what it publishes is
    delivered — as Pub/Sub and the deployed functions would."""
    from shared.runtime.embedded import EmbeddedDeployment
    EmbeddedDeployment(services).deploy()
    services.bus.start(workers=4)


def pubsub_entry_point(function_name: str, handler: Handler | None = None) -> Callable:
    spec = TOPOLOGY.function(function_name)
    function = PubSubFunction(spec, TOPOLOGY, handler or resolve_handler(spec), process_services)

    def entry(cloud_event) -> None:
        function.on_cloud_event(cloud_event)

    entry.__name__ = function_name
    entry.__qualname__ = function_name
    return functions_framework.cloud_event(entry)


def http_entry_point(function_name: str) -> Callable:
    """An HTTP function (Cloud Scheduler, Pub/Sub push, a client): the caller is authenticated
    (shared.runtime.auth), then the topology's handler is called with the flask request, with
    the same logging as Pub/Sub functions. A path the topology does not list is a 404."""
    function = HttpFunction(TOPOLOGY.function(function_name))
    entry = function.__call__
    return functions_framework.http(_named(lambda request: entry(request), function_name))


class HttpFunction:
    def __init__(self, spec, handler: Callable | None = None, verifier=None,
                 services_factory: Callable[[], Services] | None = None):
        self.spec = spec
        self._handler = handler or resolve_handler(spec)
        self._verifier = verifier
        self._services_factory = services_factory or process_services
        self._routes = Routes(spec)
        per_minute = rate_limit_per_minute(spec)
        self._rate_limit = CallerRateLimit(per_minute) if per_minute else None
        self._invocations_log = invocation_rate_log(spec)

    def __call__(self, request):
        services = self._services_factory()  # the process's: configures logging once per instance
        started, outcome = time.perf_counter(), invocations.RETRIED  # unless it answers
        try:
            response, outcome = self._answer(request, services)
            return response
        finally:
            invocations.record_invocation(self._services_factory, self.spec.name, outcome, started, trigger="http")
            if self._invocations_log is not None:
                self._invocations_log.record(outcome)

    def _answer(self, request, services) -> tuple[object, str]:
        """The response and the invocation's outcome."""
        trace = _header_id(request.headers.get("X-Cloud-Trace-Context", "").split("/")[0])
        with log_context(function=self.spec.name, run_id=new_id(), trace=trace,
                         correlation_id=_header_id(request.headers.get("X-Correlation-Id")) or new_id()):
            log = logging.getLogger("sportsflow.runtime")
            started_level = logging.INFO if self._invocations_log is None else logging.DEBUG
            log.log(started_level, "started",
                    extra={"fields": {"http_method": request.method[:16], "path": request.path[:200]}})
            try:  # who is calling comes first: an unauthenticated caller learns nothing, not even the routes
                caller = self._verifier_for(services).verify(request.headers)
            except auth.AuthError as refused:
                log.warning("caller refused", extra={"fields": {"status": refused.status, "reason": str(refused)}})
                refusal_response = _json_error(refused.status, str(refused), authenticate=refused.status == 401)
                return refusal_response, invocations.REFUSED
            refusal = self._refusal(request, caller)
            if refusal is not None:
                log.warning("request refused", extra={"fields": {"status": refusal.status,
                                                                 "reason": refusal.message[:300]}})
                return _json_error(refusal.status, refusal.message, headers=refusal.headers), invocations.REFUSED
            request.environ[auth.CALLER_KEY] = caller
            try:
                response = self._handler(request)
            except auth.AuthError as refused:  # a handler's own check (e.g. an admin route)
                return _json_error(refused.status, str(refused)), invocations.REFUSED
            except RequestEntityTooLarge:  # a handler reading past the bound of an undeclared body
                return _json_error(413, f"the request body is larger than this function accepts "
                                        f"({self.spec.max_body_bytes} bytes): send a smaller body"), invocations.REFUSED
            return response, invocations.http_outcome(response)

    def _refusal(self, request, caller: auth.Caller) -> Refusal | None:
        """Route and method, then the caller's budget, then the body's size (never read whole)."""
        refusal = self._routes.refusal(request.method, request.path)
        if refusal is None and self._rate_limit is not None:
            wait = self._rate_limit.seconds_until_allowed(caller.identity)
            if wait > 0:
                refusal = Refusal(429, f"more than {self._rate_limit.per_minute} requests a minute from this "
                                       f"caller: retry after the Retry-After seconds",
                                  (("Retry-After", str(max(1, math.ceil(wait)))),))
        if refusal is None:
            request.max_content_length = self.spec.max_body_bytes
            refusal = body_refusal(request, self.spec.max_body_bytes)
        return refusal

    def _verifier_for(self, services):
        if self._verifier is None:
            self._verifier = auth.verifier_for(services.settings)
        return self._verifier


_HEADER_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _header_id(value: str | None) -> str | None:
    """A caller's correlation or trace id, only when it is a short plain id (never logged unchecked)."""
    return value if value and _HEADER_ID.fullmatch(value) else None


def _json_error(status: int, message: str, *, authenticate: bool = False, headers=()):
    import flask

    response = flask.Response(json.dumps({"error": message}), status=status, mimetype="application/json")
    for name, value in headers:
        response.headers[name] = value
    if authenticate:
        response.headers["WWW-Authenticate"] = 'Bearer realm="sportsflow"'
    return response


def _named(entry: Callable, name: str) -> Callable:
    entry.__name__ = name
    entry.__qualname__ = name
    return entry
