"""Running the monitor outside a Pub/Sub function: result-source clients and a bus publisher."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping

from shared.bootstrap import Services
from shared.contracts.codec import encode
from shared.contracts.envelope import Message
from shared.resilience.policy import DEFAULT_POLICY, ProviderPolicy
from shared.validation import system
from shared.validation.monitor import GameMonitor
from shared.validation.sources import ResultSource


def bus_publisher(services: Services, producer: str,
                  correlation_id: str | None = None) -> Callable[[str, Message], str]:
    correlation = correlation_id or uuid.uuid4().hex

    def publish(topic: str, message: Message) -> str:
        encoded = encode(message, run_id=uuid.uuid4().hex, correlation_id=correlation, producer=producer)
        return services.bus.publish(topic, encoded.data, encoded.attributes)
    return publish


@contextmanager
def monitor_for(services: Services, urls: Mapping[str, str], *, policy: ProviderPolicy = DEFAULT_POLICY,
                publish: Callable[[str, Message], str] | None = None, client_prefix: str = "results",
                synthetic: bool = False) -> Iterator[GameMonitor]:
    if not urls:
        raise ValueError("no result sources: set SPORTSFLOW_RESULT_SOURCES=espn=URL,mlb=URL")
    sources = {name: ResultSource(name, url, policy=policy, client_name=f"{client_prefix}-{name}")
               for name, url in urls.items()}
    try:
        yield GameMonitor(services.documents, services.evidence, system.evidence_log(services, signing=False),
                          sources, publish or bus_publisher(services, "validation_monitor"), synthetic=synthetic)
    finally:
        for source in sources.values():
            source.close()
