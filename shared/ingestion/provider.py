"""The fixtures provider as the ingestion worker reads it: through the resilience layer
(`ProviderClient`: timeout, retries, breaker, rate limit), one idempotency key per request."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.config import ConfigError, Settings
from shared.resilience import ProviderClient, provider_client

PROVIDER_NAME = "fixtures"
ROUTES = {"fixtures": "/fixtures", "results": "/results"}


class FixturesProvider:
    def __init__(self, client: ProviderClient) -> None:
        self.client = client

    @property
    def name(self) -> str:
        return self.client.name

    def fetch(self, operation: str, tournament_id: str, *, idempotency_key: str,
              as_of: datetime | None = None) -> Any:
        """The payload as JSON; a ProviderError (after the client's retries) otherwise. Every attempt
        of this request carries the same `Idempotency-Key`."""
        params = {"tournament": tournament_id, **({"as_of": as_of.isoformat()} if as_of else {})}
        return self.client.get_json(ROUTES[operation], params, headers={"Idempotency-Key": idempotency_key})

    def close(self) -> None:
        self.client.close()


def provider_for(settings: Settings) -> FixturesProvider:
    if not settings.fixtures_provider_url:
        raise ConfigError("no fixtures provider configured: set SPORTSFLOW_FIXTURES_PROVIDER_URL to its base URL "
                          "(locally: `sportsflow ingest` starts one)")
    return FixturesProvider(provider_client(PROVIDER_NAME, settings.fixtures_provider_url))
