"""functions-framework entry points. A function's main.py is one line:

    handle = pubsub_entry_point("phase3_to_phase4_orchestrator")   # Pub/Sub push (CloudEvent)
    handle = http_entry_point("phase1_scrapers")                   # HTTP (Cloud Scheduler)
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
from typing import Callable

import functions_framework

from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts.envelope import new_id
from shared.observability.logging import configure_logging, log_context
from shared.runtime import auth
from shared.runtime.handlers import resolve_handler
from shared.runtime.pubsub_function import Handler, PubSubFunction
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
        self._routes = tuple(_route_pattern(path) for path in spec.http_paths)

    def __call__(self, request):
        services = self._services_factory()  # the process's: configures logging once per instance
        trace = _header_id(request.headers.get("X-Cloud-Trace-Context", "").split("/")[0])
        with log_context(function=self.spec.name, run_id=new_id(), trace=trace,
                         correlation_id=_header_id(request.headers.get("X-Correlation-Id")) or new_id()):
            log = logging.getLogger("sportsflow.runtime")
            log.info("started", extra={"fields": {"http_method": request.method, "path": request.path[:200]}})
            try:  # who is calling comes first: an unauthenticated caller learns nothing, not even the routes
                caller = self._verifier_for(services).verify(request.headers)
            except auth.AuthError as refused:
                log.warning("caller refused", extra={"fields": {"status": refused.status, "reason": str(refused)}})
                return _json_error(refused.status, str(refused), authenticate=refused.status == 401)
            if not any(route.fullmatch(request.path) for route in self._routes):
                return _json_error(404, f"no route {request.path[:200]}: this function serves "
                                        f"{', '.join(self.spec.http_paths)}")
            request.environ[auth.CALLER_KEY] = caller
            try:
                return self._handler(request)
            except auth.AuthError as refused:  # a handler's own check (e.g. an admin route)
                return _json_error(refused.status, str(refused))

    def _verifier_for(self, services):
        if self._verifier is None:
            self._verifier = auth.verifier_for(services.settings)
        return self._verifier


_HEADER_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _header_id(value: str | None) -> str | None:
    """A caller's correlation or trace id, only when it is a short plain id (never logged unchecked)."""
    return value if value and _HEADER_ID.fullmatch(value) else None


def _route_pattern(path: str) -> "re.Pattern[str]":
    """'/matches/{id}' matches '/matches/123'; literal segments match themselves."""
    parts = [("[^/]+" if part.startswith("{") and part.endswith("}") else re.escape(part))
             for part in path.split("/")]
    return re.compile("/".join(parts))


def _json_error(status: int, message: str, *, authenticate: bool = False):
    import flask

    response = flask.Response(json.dumps({"error": message}), status=status, mimetype="application/json")
    if authenticate:
        response.headers["WWW-Authenticate"] = 'Bearer realm="sportsflow"'
    return response


def _named(entry: Callable, name: str) -> Callable:
    entry.__name__ = name
    entry.__qualname__ = name
    return entry
