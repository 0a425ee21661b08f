"""Services hands each Google client its home's emulator endpoints explicitly: building them never
writes the process environment, a stale shell variable does not win, and two Services for two
homes in one process each reach their own endpoints.

The unit tests stand fake servers in for the emulators (a gRPC server for Pub/Sub and Firestore,
an HTTP server for bqemulator and fake-gcs-server) that record what reaches them and refuse it;
the emulator test runs real traffic with no emulator variable in the environment at all."""
from __future__ import annotations

import json
import os
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import pytest

from shared.bootstrap import Services
from shared.config import Settings

EMULATOR_VARIABLES = ("PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "BIGQUERY_EMULATOR_HOST",
                      "STORAGE_EMULATOR_HOST", "AWS_ENDPOINT_URL_S3", "GOOGLE_CLOUD_PROJECT",
                      "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")


class GrpcRecorder(grpc.GenericRpcHandler):
    """Answers every call UNIMPLEMENTED, after noting its method."""

    def __init__(self):
        self.methods: list[str] = []
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        self._server.add_generic_rpc_handlers((self,))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    def service(self, handler_call_details):
        self.methods.append(handler_call_details.method)
        return None

    def stop(self):
        self._server.stop(grace=None)


class HttpRecorder:
    """Answers every request 404 (in Google's error shape), after noting its path."""

    def __init__(self):
        self.paths: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _refuse(self):
                recorder.paths.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                body = json.dumps({"error": {"code": 404, "message": "recorded", "errors": []}}).encode()
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


class FakeEmulators:
    """One home's stand-ins, and the emulators.env `sportsflow emulators up` would have written."""

    def __init__(self, home: Path, project: str):
        self.pubsub, self.firestore = GrpcRecorder(), GrpcRecorder()
        self.bigquery, self.storage = HttpRecorder(), HttpRecorder()
        home.mkdir(parents=True)
        (home / "emulators.env").write_text(
            f"GOOGLE_CLOUD_PROJECT={project}\n"
            f"PUBSUB_EMULATOR_HOST=127.0.0.1:{self.pubsub.port}\n"
            f"FIRESTORE_EMULATOR_HOST=127.0.0.1:{self.firestore.port}\n"
            f"BIGQUERY_EMULATOR_HOST=http://127.0.0.1:{self.bigquery.port}\n"
            f"STORAGE_EMULATOR_HOST=http://127.0.0.1:{self.storage.port}\n"
            "AWS_ENDPOINT_URL_S3=http://127.0.0.1:9\nAWS_ACCESS_KEY_ID=testing\n")
        self.settings = Settings(backend="emulator", home=home)

    def stop(self):
        for server in (self.pubsub, self.firestore, self.bigquery, self.storage):
            server.stop()


@pytest.fixture
def two_homes(tmp_path, monkeypatch):
    monkeypatch.delenv("SPORTSFLOW_EMULATOR_ENV", raising=False)
    # Stale variables from a shell that sourced some other home's emulators.env: they must not win.
    for name in ("PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "BIGQUERY_EMULATOR_HOST"):
        monkeypatch.setenv(name, "127.0.0.1:9")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")
    homes = FakeEmulators(tmp_path / "a", "project-a"), FakeEmulators(tmp_path / "b", "project-b")
    yield homes
    for home in homes:
        home.stop()


def _open_every_adapter(services: Services) -> None:
    for name in ("bus", "documents", "warehouse", "evidence", "raw_payloads"):
        getattr(services, name)


def test_building_services_for_an_emulator_home_leaves_the_environment_unchanged(two_homes):
    before = dict(os.environ)
    services = Services(two_homes[0].settings)
    _open_every_adapter(services)
    services.documents.now  # noqa: B018 — touching attributes must not export anything either
    try:
        assert dict(os.environ) == before
        assert services.settings.project == "project-a"  # the harness's project, not the default
    finally:
        services.close()
    assert dict(os.environ) == before


def test_two_homes_in_one_process_reach_their_own_emulators(two_homes):
    first, second = (Services(home.settings) for home in two_homes)
    try:
        for services in (first, second):
            _open_every_adapter(services)
        for services in (first, second):
            with pytest.raises(Exception):
                services.bus.pull("pulled-sub", timeout=0.5)
            with pytest.raises(Exception):
                services.documents.get("fanin/2025-01-15")
            with pytest.raises(Exception):
                services.warehouse.query("SELECT 1")
            assert services.evidence.head("some/key.json") is None  # 404: absent
            with pytest.raises(Exception):
                services.raw_payloads.list("nba/")
    finally:
        first.close()
        second.close()

    for home, project in zip(two_homes, ("project-a", "project-b")):
        assert home.pubsub.methods == ["/google.pubsub.v1.Subscriber/Pull"]
        assert home.firestore.methods == ["/google.firestore.v1.Firestore/BatchGetDocuments"]
        assert len(home.bigquery.paths) == 1 and f"/projects/{project}/" in home.bigquery.paths[0]
        buckets = {path.split("?")[0].split("/")[4] for path in home.storage.paths}
        assert buckets == {"sportsflow-evidence", "sportsflow-raw"}


@pytest.mark.emulator
def test_the_real_emulators_through_explicit_endpoints_alone(emulators, monkeypatch, tmp_path, unique_name):
    """With no emulator variable in the environment (the `emulators` fixture exports them; removed
    here), Services still reaches each real emulator through the endpoints it hands the clients."""
    settings = Settings.from_env(backend="emulator")
    for name in EMULATOR_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    before = dict(os.environ)
    services = Services(settings)
    try:
        bus = services.bus
        from shared.topology.model import SubscriptionSpec
        bus.create_topic(unique_name)
        bus.create_subscription(SubscriptionSpec(name=f"{unique_name}-sub", topic=unique_name, dead_letter_topic=None))
        bus.publish(unique_name, b"hello")
        received = bus.pull(f"{unique_name}-sub", timeout=10)
        assert [m.data for m in received] == [b"hello"]
        bus.ack(f"{unique_name}-sub", [m.ack_id for m in received])

        assert services.documents.create(f"{unique_name}/one", {"n": 1})
        assert services.documents.get(f"{unique_name}/one").data == {"n": 1}

        assert services.warehouse.query("SELECT 1 AS one") == [{"one": 1}]

        services.raw_payloads.ensure_bucket()
        assert isinstance(services.raw_payloads.list(unique_name), list)
        assert dict(os.environ) == before
    finally:
        services.close()
