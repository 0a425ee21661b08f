"""Deep health names what is down: a stopped emulator, an open circuit breaker, a broken store."""
from __future__ import annotations

import json
import socket

from typer.testing import CliRunner

from shared.bootstrap import Services
from shared.cli.app import app
from shared.config import Settings
from shared.health import check_health
from shared.resilience.circuit_breaker import BreakerState
from shared.resilience.registry import ProviderRegistry


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _open_breaker(registry: ProviderRegistry, provider: str) -> None:
    breaker = registry.guards(provider).breaker
    for _ in range(100):
        if breaker.state is BreakerState.OPEN:
            return
        breaker.acquire().record_failure()
    raise AssertionError("the breaker never opened")


def test_every_dependency_of_the_embedded_backend_is_up_with_a_latency(tmp_path) -> None:
    services = Services(Settings(home=tmp_path))
    registry = ProviderRegistry(clock=FakeClock())
    registry.guards("espn")
    report = check_health(services, registry=registry)
    services.close()
    assert report.ok and report.status == "up"
    kinds = {d.kind: d for d in report.dependencies}
    assert set(kinds) == {"bus", "documents", "warehouse", "evidence", "breaker"}
    assert all(d.latency_ms is not None and d.latency_ms >= 0 for d in report.dependencies if d.kind != "breaker")


def test_an_open_breaker_is_named_as_down(tmp_path) -> None:
    services = Services(Settings(home=tmp_path))
    registry = ProviderRegistry(clock=FakeClock())
    registry.guards("mlb")
    _open_breaker(registry, "espn")
    report = check_health(services, registry=registry)
    services.close()
    assert not report.ok
    assert [d.name for d in report.down] == ["provider espn"]
    assert "circuit breaker open" in report.summary() and "provider espn" in report.summary()
    assert next(d for d in report.dependencies if d.name == "provider mlb").status == "up"


def test_a_broken_evidence_store_is_down_with_its_reason(tmp_path) -> None:
    (tmp_path / "evidence").write_text("a file where the evidence directory should be")
    services = Services(Settings(home=tmp_path))
    report = check_health(services, registry=ProviderRegistry())
    services.close()
    assert [d.name for d in report.down] == ["evidence store"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once it is closed


def test_sportsflow_health_exits_1_naming_the_stopped_emulator(tmp_path, monkeypatch) -> None:
    port = _closed_port()
    (tmp_path / "emulators.env").write_text(
        f"PUBSUB_EMULATOR_HOST=127.0.0.1:{port}\nFIRESTORE_EMULATOR_HOST=127.0.0.1:{port}\n"
        f"BIGQUERY_EMULATOR_HOST=http://127.0.0.1:{port}\nSTORAGE_EMULATOR_HOST=http://127.0.0.1:{port}\n"
        f"AWS_ENDPOINT_URL_S3=http://127.0.0.1:{port}\n")
    for name in ("PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "BIGQUERY_EMULATOR_HOST",
                 "STORAGE_EMULATOR_HOST", "AWS_ENDPOINT_URL_S3", "SPORTSFLOW_EMULATOR_ENV"):
        monkeypatch.setenv(name, "")  # recorded, so whatever bootstrap exports from the env file is undone
        monkeypatch.delenv(name)
    result = CliRunner().invoke(app, ["--backend", "emulator", "--home", str(tmp_path), "health", "--json",
                                      "--deadline", "1.5"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    down = {d["name"]: d["detail"] for d in report["dependencies"] if d["status"] == "down"}
    assert set(down) == {"bus", "document store", "warehouse", "evidence store"}
    assert f"Firestore emulator 127.0.0.1:{port}" in down["document store"]
    assert f"Pub/Sub emulator 127.0.0.1:{port}" in down["bus"]
    assert "down: " in report["summary"] and "document store" in report["summary"]
