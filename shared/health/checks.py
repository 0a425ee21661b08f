"""Probe each dependency of a deployment — bus, document store, warehouse, evidence store — and
report each provider's circuit breaker.

Every probe is a cheap read-only (or idempotent) call through the port, timed, run on its own
thread with a deadline: a stopped emulator makes the Google clients retry for a long time, and a
health check that hangs is no health check. A probe that raises or misses its deadline is `down`
with the reason; an open breaker is `down` (its provider is being refused), half-open `degraded`.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from shared.config import ConfigError
from shared.resilience.circuit_breaker import BreakerSnapshot, BreakerState
from shared.resilience.registry import ProviderRegistry, process_registry

if TYPE_CHECKING:
    from shared.bootstrap import Services

UP, DEGRADED, DOWN = "up", "degraded", "down"
DEFAULT_DEADLINE_S = 3.0
PROBE_DOCUMENT = "health/probe"
PROBE_EVIDENCE_KEY = "health/probe"


@dataclass(frozen=True)
class DependencyHealth:
    name: str
    kind: str  # bus, documents, warehouse, evidence, breaker
    status: str
    latency_ms: float | None
    detail: str = ""


@dataclass
class HealthReport:
    backend: str
    dependencies: list[DependencyHealth] = field(default_factory=list)

    @property
    def down(self) -> list[DependencyHealth]:
        return [d for d in self.dependencies if d.status == DOWN]

    @property
    def status(self) -> str:
        if self.down:
            return DOWN
        return DEGRADED if any(d.status == DEGRADED for d in self.dependencies) else UP

    @property
    def ok(self) -> bool:
        return not self.down

    def summary(self) -> str:
        if self.ok:
            return f"healthy ({len(self.dependencies)} dependencies)"
        return "down: " + "; ".join(f"{d.name} ({d.detail})" for d in self.down)

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "backend": self.backend, "summary": self.summary(),
                "dependencies": [asdict(d) for d in self.dependencies]}


Probe = Callable[[], None]


def check_health(services: "Services", *, registry: ProviderRegistry | None = None,
                 deadline_s: float = DEFAULT_DEADLINE_S) -> HealthReport:
    report = HealthReport(backend=services.settings.backend)
    # All probes at once, each on a daemon thread: the check takes one deadline, and a client call
    # that hangs on a stopped emulator is abandoned (it never keeps the process alive).
    _import_adapters(services)
    running = [(name, kind, _ProbeThread(probe)) for name, (kind, probe) in dependency_probes(services).items()]
    begun = time.perf_counter()
    for name, kind, thread in running:
        thread.join(max(0.0, deadline_s - (time.perf_counter() - begun)))
        report.dependencies.append(thread.outcome(name, kind, deadline_s, _endpoint(services, kind)))
    report.dependencies.extend(breaker_health(s) for s in (registry or process_registry()).snapshots())
    return report


def dependency_probes(services: "Services") -> dict[str, tuple[str, Probe]]:
    probe_topic = services.topology.topics[0].name
    return {
        "bus": ("bus", lambda: services.bus.create_topic(probe_topic)),  # idempotent: the topic exists
        "document store": ("documents", lambda: services.documents.get(PROBE_DOCUMENT)),
        "warehouse": ("warehouse", lambda: services.warehouse.query("SELECT 1 AS ok")),
        "evidence store": ("evidence", lambda: services.evidence.head(PROBE_EVIDENCE_KEY)),
    }


def _import_adapters(services: "Services") -> None:
    """The Google client libraries take seconds to import on a loaded machine: not the dependency's latency."""
    if services.settings.backend != "local":
        import shared.adapters.gcp.bigquery  # noqa: F401
        import shared.adapters.gcp.firestore  # noqa: F401
        import shared.adapters.gcp.pubsub  # noqa: F401
        import shared.adapters.gcp.storage  # noqa: F401


def breaker_health(snapshot: BreakerSnapshot) -> DependencyHealth:
    name = f"provider {snapshot.provider}"
    if snapshot.state is BreakerState.OPEN:
        return DependencyHealth(name, "breaker", DOWN, None,
                                f"circuit breaker open after {snapshot.consecutive_failures} failures; "
                                f"half-open in {snapshot.seconds_until_half_open or 0:.0f} s")
    if snapshot.state is BreakerState.HALF_OPEN:
        return DependencyHealth(name, "breaker", DEGRADED, None, "circuit breaker half-open: probing the provider")
    return DependencyHealth(name, "breaker", UP, None, "circuit breaker closed")


class _ProbeThread(threading.Thread):
    def __init__(self, probe: Probe):
        super().__init__(daemon=True, name="health-probe")
        self._probe = probe
        self.latency_ms: float | None = None
        self.error: Exception | None = None
        self.start()

    def run(self) -> None:
        begun = time.perf_counter()
        try:
            self._probe()
        except Exception as err:  # any client error means the dependency cannot serve us
            self.error = err
            return
        self.latency_ms = (time.perf_counter() - begun) * 1000

    def outcome(self, name: str, kind: str, deadline_s: float, endpoint: str) -> DependencyHealth:
        where = f" at {endpoint}" if endpoint else ""
        if self.is_alive():
            return DependencyHealth(name, kind, DOWN, None, f"no answer{where} within {deadline_s:g} s: is it running?")
        if self.error is not None:
            return DependencyHealth(name, kind, DOWN, None,
                                    f"{type(self.error).__name__}{where}: {_first_line(self.error)}")
        return DependencyHealth(name, kind, UP, round(self.latency_ms or 0.0, 2))


# Where the emulator backend's clients point (the home's emulators.env, as Services hands them over).
_EMULATOR_ENDPOINTS = {"bus": "pubsub", "documents": "firestore", "warehouse": "bigquery", "evidence": "storage"}
_EMULATOR_NAMES = {"bus": "Pub/Sub emulator", "documents": "Firestore emulator",
                   "warehouse": "bqemulator", "evidence": "fake-gcs-server"}


def _endpoint(services: "Services", kind: str) -> str:
    if services.settings.backend != "emulator":
        return ""
    try:
        address = getattr(services.emulator_endpoints, _EMULATOR_ENDPOINTS[kind]) or ""
    except ConfigError:
        address = ""
    return f"{_EMULATOR_NAMES[kind]} {address}".strip()


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else "no message"
