"""Serve a topology HTTP function as a WSGI app — what Cloud Functions does for `functions/<name>/main.py`,
for `sportsflow serve` and for tests that want a real server (functions-framework's own gunicorn)."""
from __future__ import annotations

import flask

from shared.runtime.entrypoints import HttpFunction
from shared.topology import TOPOLOGY, Topology

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def wsgi_app(function_name: str, topology: Topology = TOPOLOGY) -> flask.Flask:
    """Every path reaches the function, which answers 404 for paths its topology entry does not list."""
    spec = topology.function(function_name)
    if spec.trigger != "http":
        raise ValueError(f"{function_name} is triggered by {spec.trigger_topic}, not HTTP: "
                         f"HTTP functions are {', '.join(http_functions(topology))}")
    function = HttpFunction(spec)
    app = flask.Flask(f"sportsflow.{function_name}")

    def view(path: str = ""):
        return function(flask.request)

    app.add_url_rule("/", "root", view, methods=ALL_METHODS)
    app.add_url_rule("/<path:path>", "path", view, methods=ALL_METHODS)
    return app


def http_functions(topology: Topology = TOPOLOGY) -> list[str]:
    return [fn.name for fn in topology.functions if fn.trigger == "http"]
