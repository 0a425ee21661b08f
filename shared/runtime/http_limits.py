"""The bounds every HTTP function enforces before its handler runs (SPEC §5 Security): only the
topology's routes and methods (404, 405), bodies no larger than the function's bound (413,
decided from Content-Length or a bounded read — never by reading the whole body)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from shared.topology.model import FunctionSpec


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()


class Routes:
    """A function's routes ('/matches/{id}' matches '/matches/123') and the methods of each."""

    def __init__(self, spec: FunctionSpec):
        self.spec = spec
        self._routes = tuple((_route_pattern(path), path) for path in spec.http_paths)

    def refusal(self, method: str, path: str) -> Refusal | None:
        route = next((route for pattern, route in self._routes if pattern.fullmatch(path)), None)
        if route is None:
            return Refusal(404, f"no route {path[:200]}: this function serves {', '.join(self.spec.http_paths)}")
        allowed = self.spec.methods_of(route)
        if method not in allowed:
            return Refusal(405, f"{method[:16]} is not served on {route}: use {', '.join(allowed)}",
                           (("Allow", ", ".join(allowed)),))
        return None


def _route_pattern(path: str) -> "re.Pattern[str]":
    parts = [("[^/]+" if part.startswith("{") and part.endswith("}") else re.escape(part))
             for part in path.split("/")]
    return re.compile("/".join(parts))


def body_refusal(request, max_bytes: int) -> Refusal | None:
    """413 when the body is over `max_bytes`. A declared Content-Length decides without reading;
    a body without one (chunked) is read at most `max_bytes + 1` bytes, and what was read stays
    available to the handler (`request.get_data()`)."""
    too_large = Refusal(413, f"the request body is larger than this function accepts ({max_bytes} bytes): "
                             f"send a smaller body")
    declared = request.content_length
    if declared is not None:
        return too_large if declared > max_bytes else None
    if not _may_have_body(request):
        return None
    data = request.environ["wsgi.input"].read(max_bytes + 1)  # the raw input: werkzeug's stream stops quietly
    if len(data) > max_bytes:
        return too_large
    request._cached_data = data  # werkzeug's get_data() cache: the handler reads these bytes
    return None


def _may_have_body(request) -> bool:
    environ = request.environ
    return environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or bool(
        environ.get("wsgi.input_terminated"))
