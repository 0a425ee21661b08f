"""Observation 6 of issue #11: a provider URL's credentials never reach logs, errors or callers,
errors to callers carry no upstream text, and redirects stay on the provider's host."""
from __future__ import annotations

import json
import logging

import flask
import httpx
import pytest
from werkzeug.test import EnvironBuilder

from shared.adapters.local.bus import LocalBus
from shared.bootstrap import Services
from shared.config import Settings
from shared.pipeline.phase1 import handle_scrape_request
from shared.resilience import (
    ProviderClient,
    ProviderError,
    ProviderRejected,
    ProviderResponseInvalid,
)

SECRET = "s3cr3t-pass"
UPSTREAM = "UPSTREAM-SAYS-<script>alert(1)</script>"
BASE = f"http://scraper:{SECRET}@provider.example:8080"


def _client(handler) -> ProviderClient:
    return ProviderClient("nba-stats", BASE, transport=httpx.MockTransport(handler), clock=lambda: 0.0,
                          sleep=lambda s: None)


def test_a_rejection_names_the_url_without_credentials_query_or_the_providers_words(caplog):
    caplog.set_level(logging.DEBUG)
    with _client(lambda request: httpx.Response(403, text=UPSTREAM)) as client, \
            pytest.raises(ProviderRejected) as rejected:
        client.get_json("/stats/schedule", {"date": "2025-01-15", "api_key": SECRET})
    message = str(rejected.value)
    assert "provider.example:8080/stats/schedule" in message
    assert SECRET not in message and "scraper" not in message and UPSTREAM not in message
    assert SECRET not in caplog.text and "api_key" not in caplog.text


def test_an_invalid_body_error_carries_no_upstream_text():
    with _client(lambda request: httpx.Response(200, text=UPSTREAM)) as client, \
            pytest.raises(ProviderResponseInvalid) as invalid:
        client.get_json("/stats/schedule", {"date": "2025-01-15"})
    assert UPSTREAM not in str(invalid.value) and SECRET not in str(invalid.value)


def test_redirects_to_another_host_are_refused_and_same_host_ones_followed():
    def handler(request):
        if request.url.path == "/moved":
            return httpx.Response(302, headers={"Location": "http://provider.example:8080/here"})
        if request.url.path == "/here":
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(302, headers={"Location": "http://attacker.example/collect"})

    seen = []
    with _client(lambda request: (seen.append(request.url.host), handler(request))[1]) as client:
        assert client.get_json("/moved") == {"ok": True}
        with pytest.raises(ProviderError, match="redirected to another host"):
            client.get_json("/elsewhere")
    assert "attacker.example" not in seen


def test_url_redaction_drops_credentials_and_queries():
    from shared.resilience.redaction import redacted_text, redacted_url

    assert redacted_url(f"{BASE}/a/b?key={SECRET}") == "http://provider.example:8080/a/b"
    text = redacted_text(f"ConnectError: cannot reach {BASE}/x?token={SECRET} now")
    assert SECRET not in text and "scraper" not in text


def test_phase1_tells_its_caller_what_to_fix_without_upstream_text_or_credentials(tmp_path):
    bus = LocalBus()
    bus.create_topic("phase1-scrapers-complete")
    services = Services.with_adapters(Settings(home=tmp_path, provider_url=BASE), bus=bus)
    request = flask.Request(EnvironBuilder(path="/", method="POST",
                                           json={"scrapers": "schedule", "date": "2025-01-15"}).get_environ())
    with _client(lambda r: httpx.Response(401, text=f"{UPSTREAM} {BASE}")) as client:
        response = handle_scrape_request(request, services=services, client=client)
    body = response.get_data(as_text=True)
    assert response.status_code == 502
    assert SECRET not in body and UPSTREAM not in body
    assert "check the path, parameters, credentials or quota" in json.loads(body)["results"][0]["error"]
    services.close()
