"""Result-source clients: each scoreboard request goes through the resilience layer (breaker,
rate limit, timeout, retries) with an idempotency key, and comes back as raw game entries.

The key is derived from what is asked (source, date, poll round), so the retries of one request
carry the same key, and a restarted monitor asking for the same round again does too.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.resilience.errors import ProviderResponseInvalid
from shared.resilience.policy import DEFAULT_POLICY, ProviderPolicy
from shared.resilience.provider_client import ProviderClient
from shared.validation.source_payloads import ENTRIES, ROUTES

IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Scoreboard:
    source: str
    day: date
    entries: dict[str, dict[str, Any]]  # game id -> the source's raw entry for that game
    latency_ms: float


def idempotency_key(source: str, day: date, poll_round: int) -> str:
    return hashlib.sha256(f"scoreboard|{source}|{day.isoformat()}|{poll_round}".encode()).hexdigest()[:32]


class ResultSource:
    def __init__(self, name: str, base_url: str, *, policy: ProviderPolicy = DEFAULT_POLICY,
                 client_name: str | None = None) -> None:
        """`client_name` names the breaker and rate limiter shared in this process (default results-NAME)."""
        self.name = name
        self.client = ProviderClient(client_name or f"results-{name}", base_url, policy=policy)

    def scoreboard(self, day: date, poll_round: int = 0) -> Scoreboard:
        """The day's games; a `ProviderError` when the source cannot answer after its retries."""
        started = time.perf_counter()
        response = self.client.get(ROUTES[self.name], {"date": day.isoformat()},
                                   headers={"Accept": "application/json",
                                            IDEMPOTENCY_HEADER: idempotency_key(self.name, day, poll_round)})
        try:
            payload = response.json()
        except ValueError as error:
            raise ProviderResponseInvalid(self.client.name, ROUTES[self.name], str(error),
                                          response.text[:200]) from None
        return Scoreboard(self.name, day, ENTRIES[self.name](payload, day), (time.perf_counter() - started) * 1000)

    def close(self) -> None:
        self.client.close()
