"""functions-framework entry points. A function's main.py is one line:

    handle = pubsub_entry_point("phase3_to_phase4_orchestrator")
"""
from __future__ import annotations

import threading
from typing import Callable

import functions_framework

from shared.bootstrap import Services
from shared.config import Settings
from shared.observability.logging import configure_logging
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
