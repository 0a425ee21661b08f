"""The one place that picks concrete adapters for a backend (cosmicpython's bootstrap).

Adapters are opened lazily, so a function that only publishes never opens the warehouse.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from shared.config import ConfigError, EmulatorEndpoints, Settings, emulator_endpoints
from shared.ports.bus import MessageBus
from shared.ports.documents import DocumentStore
from shared.ports.evidence import EvidenceStore
from shared.ports.notifier import Notifier
from shared.ports.raw_payloads import RawPayloadStore
from shared.ports.warehouse import Warehouse
from shared.topology import TOPOLOGY, Topology


@dataclass
class Services:
    settings: Settings
    topology: Topology = TOPOLOGY
    _overrides: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        from shared.metrics.breakers import record_breaker_transitions
        record_breaker_transitions(self.settings)  # a breaker knows no home: the latest Services' one

    @classmethod
    def with_adapters(cls, settings: Settings, **adapters) -> "Services":
        """Services with some adapters given (tests, the embedded pipeline runner)."""
        services = cls(settings)
        for name, adapter in adapters.items():
            services.__dict__[name] = adapter  # pre-fills the cached_property
        return services

    @cached_property
    def bus(self) -> MessageBus:
        if self.settings.backend == "local":
            from shared.adapters.local.bus import LocalBus
            from shared.metrics.backlog import BacklogRecorder
            return LocalBus(backlog_observer=BacklogRecorder(self.settings))
        from shared.adapters.gcp.pubsub import PubSubBus
        endpoint = self._endpoint("pubsub")
        return PubSubBus(self.settings.project, endpoint=endpoint)

    @cached_property
    def documents(self) -> DocumentStore:
        if self.settings.backend == "local":
            from shared.adapters.local.documents import SqliteDocumentStore
            return SqliteDocumentStore(self._home_file("documents.sqlite"))
        from shared.adapters.gcp.firestore import FirestoreDocumentStore
        endpoint = self._endpoint("firestore")
        return FirestoreDocumentStore(self.settings.project, endpoint=endpoint)

    @cached_property
    def warehouse(self) -> Warehouse:
        if self.settings.backend == "local":
            from shared.adapters.local.warehouse import DuckDBWarehouse
            return DuckDBWarehouse(self._home_file("warehouse.duckdb"))
        from shared.adapters.gcp.bigquery import BigQueryWarehouse
        endpoint = self._endpoint("bigquery")
        if endpoint:
            return BigQueryWarehouse(self.settings.project, endpoint=endpoint)
        return BigQueryWarehouse.from_env(project=self.settings.project)

    @cached_property
    def evidence(self) -> EvidenceStore:
        if self.settings.backend == "local":
            from shared.adapters.local.evidence import FileEvidenceStore
            return FileEvidenceStore(self._home_file("evidence"))
        from shared.adapters.gcp.storage import GcsEvidenceStore
        endpoint = self._endpoint("storage")
        return GcsEvidenceStore(self.settings.evidence_bucket, project=self.settings.project, endpoint=endpoint)

    @cached_property
    def raw_payloads(self) -> RawPayloadStore:
        """Provider payloads (Phase 1's output), in the raw bucket: never in the evidence store."""
        if self.settings.backend == "local":
            from shared.adapters.local.raw_payloads import FileRawPayloadStore
            return FileRawPayloadStore(self._home_file("raw"))
        from shared.adapters.gcp.raw_payloads import GcsRawPayloadStore
        endpoint = self._endpoint("storage")
        return GcsRawPayloadStore(self.settings.raw_bucket, project=self.settings.project, endpoint=endpoint)

    @cached_property
    def notifier(self) -> "Notifier":
        from shared.adapters.notifiers import notifier_for
        return notifier_for(self.settings)

    def close(self) -> None:
        for name in ("bus", "documents", "warehouse", "evidence", "raw_payloads", "notifier"):
            if name in self.__dict__:
                self.__dict__.pop(name).close()

    def _home_file(self, name: str) -> Path:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        return self.settings.home / name

    @property
    def emulator_endpoints(self) -> EmulatorEndpoints | None:
        """The emulator backend: this home's emulator endpoints (read once from its emulators.env,
        then handed to each client; the process environment is never written). None otherwise."""
        if self.settings.backend != "emulator":
            return None
        if "_emulator_endpoints" not in self.__dict__:
            endpoints = emulator_endpoints(self.settings)
            self.settings = replace(self.settings, project=endpoints.project)
            self.__dict__["_emulator_endpoints"] = endpoints
        return self.__dict__["_emulator_endpoints"]

    def _endpoint(self, service: str) -> str | None:
        """The endpoint of one emulator (None on gcp: the client's defaults). Call it before reading
        `settings.project`: the first call settles the project on the emulators' one."""
        endpoints = self.emulator_endpoints
        if endpoints is None:
            return None
        endpoint = getattr(endpoints, service)
        if endpoint is None:  # never fall through to Google's defaults (credentials, production) from an emulator run
            raise ConfigError(f"the {service} emulator is not among this home's emulators "
                              f"({self.settings.emulator_env_file}): an `emulators up` that did not finish, or one "
                              f"started with --only; run `sportsflow emulators down` then `sportsflow emulators up`")
        return endpoint
