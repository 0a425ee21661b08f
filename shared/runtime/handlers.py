"""Resolve a topology function's handler ("module:callable") to the callable."""
from __future__ import annotations

import importlib
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
