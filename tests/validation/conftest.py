"""A small validation deployment on the embedded backend: replay sources over HTTP, the monitor,
the embedded bus with the validation functions, evidence files and the Merkle log."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from shared.adapters.local.bus import LocalBus
from shared.adapters.local.documents import SqliteDocumentStore
from shared.adapters.local.evidence import FileEvidenceStore
from shared.bootstrap import Services
from shared.config import Settings
from shared.providers.faults import ProviderFaults
from shared.resilience.policy import DEFAULT_POLICY, RateLimitPolicy, RetryPolicy
from shared.runtime import crash_points
from shared.runtime.embedded import EmbeddedDeployment
from shared.validation import records, system
from shared.validation.games import GameFacts, game_id
from shared.validation.replay import DataFaults, ReplayResultServers
from shared.validation.runtime import bus_publisher, monitor_for

DAY = date(2024, 6, 1)
FAST = DEFAULT_POLICY.with_rate_limit(RateLimitPolicy(requests_per_second=10_000, burst=1_000)) \
    .with_retry(RetryPolicy(backoff_seconds=(0.01, 0.01))).with_timeout(2.0)


def facts(home: str, away: str, home_innings, away_innings, *, day: date = DAY, number: int = 0,
          home_k: int = 8, away_k: int = 8) -> GameFacts:
    return GameFacts(game_id=game_id(home, day, number), game_date=day, home=home, away=away,
                     home_runs=sum(r or 0 for r in home_innings), away_runs=sum(away_innings),
                     home_innings=tuple(home_innings), away_innings=tuple(away_innings),
                     home_pitching_strikeouts=home_k, away_pitching_strikeouts=away_k)


# Dodgers beat the Padres 7-2 at home (no bottom 9th); Giants walk off the A's 4-3 in the 10th;
# Yankees shut out the Red Sox 3-0 with 11 strikeouts; Mets lose at home 1-6 to the Braves.
GAMES = (
    facts("LAN", "SDN", [5, 0, 0, 2, 0, 0, 0, 0, None], [0, 1, 0, 0, 0, 1, 0, 0, 0]),
    facts("SFN", "OAK", [0, 1, 0, 0, 2, 0, 0, 0, 0, 1], [0, 0, 3, 0, 0, 0, 0, 0, 0, 0]),
    facts("NYA", "BOS", [0, 0, 1, 0, 2, 0, 0, 0, None], [0] * 9, home_k=11),
    facts("NYN", "ATL", [0, 0, 0, 0, 1, 0, 0, 0, 0], [2, 0, 0, 0, 0, 4, 0, 0, 0]),
)


class Harness:
    def __init__(self, home: Path, games=GAMES, *, data_faults=None, transport_faults=None) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.bus = LocalBus()
        self.documents = SqliteDocumentStore(home / "documents.sqlite",
                                             clock=lambda: self.bus.clock.wall_time(self.bus.clock.now()))
        self.evidence = FileEvidenceStore(home / "evidence")
        self.services = Services.with_adapters(Settings(home=home), bus=self.bus, documents=self.documents,
                                               evidence=self.evidence)
        self.servers = ReplayResultServers(games, data_faults=data_faults,
                                           transport_faults=transport_faults or {"espn": ProviderFaults(0),
                                                                                 "mlb": ProviderFaults(1)})
        self.client_prefix = f"t-{uuid.uuid4().hex[:8]}"
        self.handlers = {}

    def __enter__(self) -> "Harness":
        self.urls = self.servers.start()
        EmbeddedDeployment(self.services, handlers=self.handlers).deploy()
        return self

    def __exit__(self, *exc) -> None:
        crash_points.install(None)
        self.servers.stop()
        self.services.close()

    @contextmanager
    def monitor(self):
        with monitor_for(self.services, self.urls, policy=FAST, client_prefix=self.client_prefix,
                         publish=bus_publisher(self.services, "validation_monitor")) as monitor:
            yield monitor

    def poll(self, day: date = DAY):
        with self.monitor() as monitor:
            report = monitor.poll(day)
        self.deliver()
        return report

    def deliver(self) -> None:
        summary = self.bus.drain(max_seconds=7 * 24 * 3600)
        assert not summary.pending

    def decisions(self) -> dict[str, dict]:
        return {doc.id: doc.data for doc in self.documents.query(records.DECISIONS)}

    def log(self, signing: bool = True):
        return system.evidence_log(self.services, signing=signing)


@pytest.fixture
def harness(tmp_path: Path):
    with Harness(tmp_path) as built:
        yield built


@pytest.fixture
def make_harness(tmp_path: Path):
    opened = []

    def make(**kwargs) -> Harness:
        built = Harness(tmp_path / f"h{len(opened)}", **kwargs).__enter__()
        opened.append(built)
        return built
    yield make
    for built in opened:
        built.__exit__(None, None, None)


__all__ = ["DataFaults", "Harness", "GAMES", "DAY", "facts"]
