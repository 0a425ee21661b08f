"""functions-framework entry points. A function's main.py is one line:

    handle = pubsub_entry_point("phase3_to_phase4_orchestrator")   # Pub/Sub push (CloudEvent)
    handle = http_entry_point("phase1_scrapers")                   # HTTP (Cloud Scheduler)
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

import functions_framework

from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts.envelope import new_id
from shared.observability.logging import configure_logging, log_context
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
        return _services


def pubsub_entry_point(function_name: str, handler: Handler | None = None) -> Callable:
    spec = TOPOLOGY.function(function_name)
    function = PubSubFunction(spec, TOPOLOGY, handler or resolve_handler(spec), process_services)

    def entry(cloud_event) -> None:
        function.on_cloud_event(cloud_event)

    entry.__name__ = function_name
    entry.__qualname__ = function_name
    return functions_framework.cloud_event(entry)


def http_entry_point(function_name: str) -> Callable:
    """An HTTP function (Cloud Scheduler, by hand): the topology's handler, called with the
    flask request, with the same logging as Pub/Sub functions."""
    spec = TOPOLOGY.function(function_name)
    handler = resolve_handler(spec)

    def entry(request):
        process_services()  # configures logging once per instance
        trace = request.headers.get("X-Cloud-Trace-Context", "").split("/")[0] or None
        with log_context(function=function_name, run_id=new_id(), trace=trace,
                         correlation_id=request.headers.get("X-Correlation-Id") or new_id()):
            logging.getLogger("sportsflow.runtime").info(
                "started", extra={"fields": {"http_method": request.method, "path": request.path}})
            return handler(request)

    entry.__name__ = function_name
    entry.__qualname__ = function_name
    return functions_framework.http(entry)
