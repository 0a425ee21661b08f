"""Shared set-up of the ingestion tests: the embedded deployment with the ingestion worker reading
a real fixtures provider on 127.0.0.1 (faults on demand), a recording notifier, admin calls."""
from __future__ import annotations

import json

import flask
import pytest

from shared.adapters.local.bus import LocalBus
from shared.adapters.local.documents import SqliteDocumentStore
from shared.adapters.local.evidence import FileEvidenceStore
from shared.bootstrap import Services
from shared.config import Settings
from shared.executions.admin import handle_admin_request
from shared.ingestion.provider import FixturesProvider
from shared.ingestion.worker import ingestion_handler
from shared.providers.faults import ProviderFaults
from shared.providers.fixtures import SyntheticFixturesSource
from shared.providers.fixtures_server import FixturesServer
from shared.resilience import ProviderClient
from shared.runtime import auth
from shared.runtime.embedded import EmbeddedDeployment
from shared.runtime.entrypoints import HttpFunction
from shared.topology import TOPOLOGY

ADMIN, INVOKER = {"Authorization": "Bearer admin-token"}, {"Authorization": "Bearer good-token"}
SOURCE = SyntheticFixturesSource(seed=1, rounds=4, matches_per_round=3)


class RecordingNotifier:
    def __init__(self):
        self.notices = []

    def announce(self, notice):
        self.notices.append(notice)

    def close(self):
        pass


class Provider:
    """The fixtures server and the worker's way to it; `source` can be swapped between runs."""

    def __init__(self, source=SOURCE):
        self.faults = ProviderFaults()
        self.server = FixturesServer(source, faults=self.faults)
        self.base_url = self.server.start()

    def client(self) -> FixturesProvider:  # private guards, no real backoff sleeps
        return FixturesProvider(ProviderClient("fixtures", self.base_url, sleep=lambda seconds: None))


@pytest.fixture
def provider():
    provider = Provider()
    yield provider
    provider.server.stop()


@pytest.fixture
def services(tmp_path, provider):
    services = Services.with_adapters(Settings(home=tmp_path), bus=LocalBus(),
                                      documents=SqliteDocumentStore(tmp_path / "docs.sqlite"),
                                      evidence=FileEvidenceStore(tmp_path / "evidence"), notifier=RecordingNotifier())
    EmbeddedDeployment(services, handlers={"ingestion_worker": ingestion_handler(provider.client)}).deploy()
    yield services
    services.close()


@pytest.fixture
def call(services):
    function = HttpFunction(TOPOLOGY.function("executions_admin"),
                            lambda request: handle_admin_request(request, services),
                            verifier=auth.DevTokenVerifier("good-token", "admin-token"),
                            services_factory=lambda: services)
    app = flask.Flask("t")

    def call(method, path, headers=ADMIN, body=None):
        with app.test_request_context(path, method=method, headers=headers, json=body):
            response = function(flask.request)
        return response.status_code, json.loads(response.get_data())
    return call


@pytest.fixture
def ingest(services, call):
    """POST /ingestions, drain the bus; the 202 body."""
    def ingest(operation, tournament="t1", **extra):
        status, body = call("POST", "/ingestions", body={"operation": operation, "entity_id": tournament, **extra})
        assert status == 202, body
        services.bus.drain(max_seconds=3600)
        return body
    return ingest
