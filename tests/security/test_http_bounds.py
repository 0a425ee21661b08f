"""Observation 1 and 5 of issue #11: HTTP functions take only their routes and methods, bounded
bodies (decided without reading the whole body), bounded Phase 1 dates, and a per-caller budget."""
from __future__ import annotations

import io
import json
from datetime import date

import flask
import pytest
from werkzeug.test import EnvironBuilder

from shared.pipeline.phase1 import BadScrapeRequest, parse_scrape_request
from shared.runtime import auth
from shared.runtime.entrypoints import HttpFunction
from shared.runtime.rate_limit import RATE_LIMIT_ENV, rate_limit_per_minute
from shared.topology import TOPOLOGY

TOKEN = "right-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def _function(name: str, calls: list | None = None, clock=None) -> HttpFunction:
    calls = [] if calls is None else calls

    def handler(request):
        calls.append(request.get_data())
        return flask.Response("{}", status=200, mimetype="application/json")

    return HttpFunction(TOPOLOGY.function(name), handler, verifier=auth.DevTokenVerifier(TOKEN),
                        services_factory=lambda: None)


def _call(function: HttpFunction, method: str = "POST", path: str = "/", headers=None, **kwargs):
    request = flask.Request(EnvironBuilder(path=path, method=method, headers={**HEADERS, **(headers or {})},
                                           **kwargs).get_environ())
    return function(request)


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH", "GET"])
def test_phase1_refuses_methods_it_does_not_serve_with_405(method):
    calls: list = []
    response = _call(_function("phase1_scrapers", calls), method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert calls == []


def test_every_http_function_refuses_an_undocumented_method():
    for spec in TOPOLOGY.functions:
        if spec.trigger != "http":
            continue
        for path in spec.http_paths:
            concrete = path.replace("{match_id}", "m1").replace("{id}", "e1")
            response = _call(_function(spec.name), "DELETE", concrete)
            assert response.status_code == 405, (spec.name, path)


def test_documented_methods_reach_the_handler():
    calls: list = []
    assert _call(_function("phase1_scrapers", calls), "POST", json={"scrapers": "daily"}).status_code == 200
    assert _call(_function("live_read_api", calls), "GET", "/matches/live").status_code == 200
    assert _call(_function("executions_admin", calls), "GET", "/executions/e1").status_code == 200
    assert _call(_function("executions_admin", calls), "POST", "/executions/e1/cancel").status_code == 200
    assert len(calls) == 4


def test_a_declared_body_over_the_bound_is_413_without_reading_it():
    spec = TOPOLOGY.function("phase1_scrapers")
    stream = _CountingStream(b"x" * (spec.max_body_bytes + 1))
    calls: list = []
    response = _call(_function("phase1_scrapers", calls), "POST", input_stream=stream,
                     headers={"Content-Length": str(60 * 1024 * 1024)})
    assert response.status_code == 413
    assert stream.read_bytes == 0 and calls == []


def test_a_chunked_body_over_the_bound_is_413_after_reading_at_most_the_bound():
    spec = TOPOLOGY.function("phase1_scrapers")
    stream = _CountingStream(b"x" * (10 * spec.max_body_bytes))
    environ = EnvironBuilder(path="/", method="POST", headers={**HEADERS, "Transfer-Encoding": "chunked"},
                             input_stream=stream).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    calls: list = []
    response = _function("phase1_scrapers", calls)(flask.Request(environ))
    assert response.status_code == 413
    assert stream.read_bytes <= spec.max_body_bytes + 1 and calls == []


def test_a_chunked_body_within_the_bound_reaches_the_handler_whole():
    body = json.dumps({"scrapers": "daily"}).encode()
    environ = EnvironBuilder(path="/", method="POST", headers={**HEADERS, "Transfer-Encoding": "chunked"},
                             input_stream=io.BytesIO(body)).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    calls: list = []
    assert _function("phase1_scrapers", calls)(flask.Request(environ)).status_code == 200
    assert calls == [body]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "2019-05-01", "2026-12-25"])
def test_phase1_dates_outside_the_providers_seasons_are_refused_with_the_reason(day):
    with pytest.raises(BadScrapeRequest, match="outside the dates the provider has data for"):
        parse_scrape_request({"scrapers": "daily", "date": day}, today=date(2026, 12, 1))


def test_phase1_dates_in_known_seasons_and_near_today_are_accepted():
    today = date(2026, 12, 1)
    for day in ("2021-10-19", "2025-01-15", "2026-12-08"):
        assert parse_scrape_request({"scrapers": "daily", "date": day}, today=today)[1] == date.fromisoformat(day)


def test_each_caller_has_its_own_request_budget():
    spec = TOPOLOGY.function("phase1_scrapers")
    function = HttpFunction(spec, lambda request: flask.Response("{}", status=200),
                            verifier=auth.DevTokenVerifier(TOKEN, "admin-token"), services_factory=lambda: None)
    statuses = [_call(function, json={}).status_code for _ in range(spec.rate_limit_per_minute + 5)]
    assert statuses.count(200) == spec.rate_limit_per_minute and statuses[-1] == 429
    refused = _call(function, json={})
    assert int(refused.headers["Retry-After"]) >= 1
    assert _call(function, json={}, headers={"Authorization": "Bearer admin-token"}).status_code == 200


class _CountingStream(io.BytesIO):
    read_bytes = 0

    def read(self, size=-1):
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readline(self, size=-1):
        data = super().readline(size)
        self.read_bytes += len(data)
        return data


def test_a_deployment_can_set_or_turn_off_the_per_caller_budget():
    spec = TOPOLOGY.function("phase1_scrapers")
    assert rate_limit_per_minute(spec, env={}) == spec.rate_limit_per_minute
    assert rate_limit_per_minute(spec, env={RATE_LIMIT_ENV: "5"}) == 5
    assert rate_limit_per_minute(spec, env={RATE_LIMIT_ENV: "0"}) is None
    assert rate_limit_per_minute(spec, env={RATE_LIMIT_ENV: "0", "SPORTSFLOW_BACKEND": "gcp"}) == \
        spec.rate_limit_per_minute
    with pytest.raises(ValueError, match="whole number"):
        rate_limit_per_minute(spec, env={RATE_LIMIT_ENV: "lots"})


def test_a_turned_off_budget_never_answers_429(monkeypatch):
    monkeypatch.setenv(RATE_LIMIT_ENV, "0")
    spec = TOPOLOGY.function("phase1_scrapers")
    function = HttpFunction(spec, lambda request: flask.Response("{}", status=200),
                            verifier=auth.DevTokenVerifier(TOKEN, "admin-token"), services_factory=lambda: None)
    statuses = {_call(function, json={}).status_code for _ in range(spec.rate_limit_per_minute + 5)}
    assert statuses == {200}
