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
