"""`sportsflow ingest`: one ingestion command run locally through the same path as the admin
endpoint — `submit` (execution, audit, job on ingestion-jobs) -> the embedded bus -> the
ingestion worker — against a fixtures provider served on 127.0.0.1 from the chosen source."""
from __future__ import annotations

from typing import Any

from shared.bootstrap import Services
from shared.config import Settings
from shared.executions.commands import submit
from shared.executions.state import ExecutionStore
from shared.ingestion.provider import PROVIDER_NAME, FixturesProvider
from shared.ingestion.report import reports_of
from shared.ingestion.worker import IngestionRequest, ingestion_handler
from shared.providers.faults import ProviderFaults
from shared.providers.fixtures import open_fixtures_source
from shared.providers.fixtures_server import FixturesServer
from shared.resilience import ProviderClient
from shared.runtime import crash_points
from shared.runtime.crash_points import KillAt
from shared.runtime.embedded import EmbeddedDeployment

DRAIN_VIRTUAL_SECONDS = 24 * 3600


def run_ingestion(settings: Settings, request: IngestionRequest, *, source: str = "synthetic",
                  outage: bool = False, triggered_by: str = "cli") -> dict[str, Any]:
    """The execution (with its step log) and every report its attempts stored."""
    if settings.backend != "local":
        raise ValueError("`sportsflow ingest` runs on the local backend; on the emulators or GCP POST /ingestions "
                         "to executions_admin")
    faults = ProviderFaults()
    if outage:
        faults.start_outage(503)
    services = Services(settings)
    try:
        with FixturesServer(open_fixtures_source(source), faults=faults) as base_url:
            def provider() -> FixturesProvider:
                return FixturesProvider(ProviderClient(PROVIDER_NAME, base_url, sleep=None, clock=None))
            EmbeddedDeployment(services, handlers={"ingestion_worker": ingestion_handler(provider)}).deploy()
            crash_points.install(KillAt.from_env())  # SPORTSFLOW_KILL_AT, for tests that kill this process
            try:
                accepted = submit(services, job_type="ingestion", entity_id=request.entity_id,
                                  payload=request.model_dump(mode="json", exclude_none=True), triggered_by=triggered_by,
                                  producer="sportsflow ingest")
                services.bus.drain(max_seconds=DRAIN_VIRTUAL_SECONDS)
            finally:
                crash_points.install(None)
        from shared.executions.admin import show
        execution_id = accepted.execution.execution_id
        return {"execution": show(ExecutionStore(services.documents), execution_id),
                "reports": [r.model_dump(mode="json") for r in reports_of(services.evidence, request.entity_id,
                                                                           execution_id)]}
    finally:
        services.close()
