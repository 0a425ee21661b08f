"""Resolve a topology function's handler ("module:callable") to the callable."""
from __future__ import annotations

import importlib
import importlib.util
import threading
from typing import Any, Callable

from shared.topology.model import FunctionSpec


class HandlerNotImplemented(LookupError):
    pass


def resolve_handler(spec: FunctionSpec) -> Callable[..., Any]:
    module_name, _, attribute = spec.handler.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            raise HandlerNotImplemented(f"{spec.name}: module {module_name} does not exist yet") from None
        raise
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise HandlerNotImplemented(f"{spec.name}: {module_name} has no {attribute}") from None


def is_implemented(spec: FunctionSpec) -> bool:
    try:
        resolve_handler(spec)
    except HandlerNotImplemented:
        return False
    return True


def resolve_push_route(spec: FunctionSpec, path: str) -> Callable[..., Any]:
    """The message handler behind an HTTP function's push route (its module's PUSH_ROUTES[path]),
    so the embedded bus and the pull dispatcher deliver to it as Pub/Sub push would."""
    module_name = spec.handler.partition(":")[0]
    resolve_handler(spec)  # HandlerNotImplemented when the module is missing
    routes = getattr(importlib.import_module(module_name), "PUSH_ROUTES", {})
    if path not in routes:
        raise HandlerNotImplemented(f"{spec.name}: {module_name}.PUSH_ROUTES has no {path!r}")
    return routes[path]


class DeferredHandler:
    """A topic function's handler, imported on its first message. A process that never delivers
    to it (`sportsflow run` publishes no game-final, settlement or ingestion job) never pays for
    importing it and its dependencies. A module that does not exist is still HandlerNotImplemented
    at once; a missing callable in an existing module shows at the first message (the topology
    tests resolve every handler)."""

    def __init__(self, spec: FunctionSpec) -> None:
        module_name = spec.handler.partition(":")[0]
        if not _module_exists(module_name):
            raise HandlerNotImplemented(f"{spec.name}: module {module_name} does not exist yet")
        self.spec = spec
        self._handler: Callable[..., Any] | None = None
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolved()(*args, **kwargs)

    def resolved(self) -> Callable[..., Any]:
        if self._handler is None:
            with self._lock:
                if self._handler is None:
                    self._handler = resolve_handler(self.spec)
        return self._handler


def _module_exists(module_name: str) -> bool:
    """Whether the module can be imported, without importing it (its parent packages are)."""
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError as err:  # a parent package is missing
        if err.name and module_name.startswith(err.name):
            return False
        raise
