"""A function called hundreds of times a second (the live read API) logs its invocations
aggregated: no INFO line per request, one "invocations" line per 100 by outcome. Others log
each invocation's "started" at INFO, as Cloud Logging users expect of a function."""
from __future__ import annotations

import logging

import flask
import pytest

from shared.adapters.local.bus import LocalBus
from shared.bootstrap import Services
from shared.config import Settings
from shared.runtime import auth
from shared.runtime.entrypoints import HttpFunction
from shared.topology import TOPOLOGY


@pytest.fixture
def services(tmp_path):
    services = Services.with_adapters(Settings(home=tmp_path), bus=LocalBus())
    yield services
    services.close()


def _call(function: HttpFunction, times: int, path: str, method: str, headers: dict) -> None:
    app = flask.Flask("t")
    for _ in range(times):
        with app.test_request_context(path, method=method, headers=headers):
            function(flask.request)


def _info_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith("sportsflow")]


def test_the_read_api_logs_one_line_per_hundred_requests_by_outcome(services, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="sportsflow")
    spec = TOPOLOGY.function("live_read_api")
    assert spec.invocation_log == "aggregated"
    function = HttpFunction(spec, lambda request: ({"ok": True}, 200), verifier=auth.DevTokenVerifier("good"),
                            services_factory=lambda: services)
    _call(function, 150, "/matches/live", "GET", {"Authorization": "Bearer good"})
    _call(function, 50, "/matches/live", "GET", {})  # refused: no token (their warnings stay per request)
    aggregated = [r for r in _info_lines(caplog) if r.getMessage() == "invocations"]
    assert [r.fields["messages_since_last"] for r in aggregated] == [100, 100]
    assert aggregated[0].fields["outcomes"] == {"ok": 100}
    assert aggregated[1].fields == {**aggregated[1].fields, "function": "live_read_api",
                                    "outcomes": {"ok": 50, "refused": 50}}
    assert not [r for r in _info_lines(caplog) if r.getMessage() == "started"]
    assert len([r for r in caplog.records if r.getMessage() == "started"]) == 200  # still there at DEBUG


def test_other_functions_log_each_invocation_started_at_info(services, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="sportsflow")
    spec = TOPOLOGY.function("reconciler")
    assert spec.invocation_log == "each"
    function = HttpFunction(spec, lambda request: ({"ok": True}, 200), verifier=auth.DevTokenVerifier("good"),
                            services_factory=lambda: services)
    _call(function, 3, "/", "POST", {"Authorization": "Bearer good"})
    assert len([r for r in _info_lines(caplog) if r.getMessage() == "started"]) == 3
    assert not [r for r in caplog.records if r.getMessage() == "invocations"]


def test_live_ingest_logs_its_pushes_aggregated_never_a_line_per_message(tmp_path, caplog) -> None:
    """Issue 13: the provider stream's message rate is logged aggregated, never one INFO line per message."""
    from shared.contracts import encode
    from shared.live.model import LiveProviderUpdate
    from shared.runtime import Delivery, PubSubFunction

    caplog.set_level(logging.DEBUG, logger="sportsflow")
    spec = TOPOLOGY.function("live_ingest")
    assert spec.invocation_log == "aggregated"
    services = Services.with_adapters(Settings(home=tmp_path), bus=LocalBus())
    function = PubSubFunction(spec, TOPOLOGY, lambda message, ctx: None, lambda: services)
    update = encode(LiveProviderUpdate(match_id="m1", status_id=2, provider_update_time=1), run_id="r",
                    correlation_id="c")
    for _ in range(120):
        function.handle(Delivery(data=update.data, attributes=update.attributes))
    services.close()
    aggregated = [r for r in _info_lines(caplog) if r.getMessage() == "invocations"]
    assert [r.fields["outcomes"] for r in aggregated] == [{"ok": 100}]
    assert not [r for r in _info_lines(caplog) if r.getMessage() in ("started", "finished")]
