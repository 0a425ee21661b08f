"""What a handler gets besides its message: who it is, the ids to carry on, and the services."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.contracts.codec import encode
from shared.contracts.envelope import Envelope, Message, new_id
from shared.runtime import crash_points
from shared.topology.model import FunctionSpec

if TYPE_CHECKING:
    from shared.bootstrap import Services


@dataclass
class FunctionContext:
    function: FunctionSpec
    envelope: Envelope
    delivery_attempt: int
    services: "Services"
    run_id: str = field(default_factory=new_id)

    @property
    def correlation_id(self) -> str:
        return self.envelope.correlation_id

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger(f"sportsflow.function.{self.function.name}")

    def publish(self, topic: str, message: Message, *, ordering_key: str = "") -> str:
        """Publish downstream, carrying this invocation's run id and the correlation id."""
        if topic not in self.function.publishes:
            raise ValueError(f"{self.function.name} does not publish to {topic!r} (see the topology)")
        encoded = encode(message, run_id=self.run_id, correlation_id=self.correlation_id,
                         producer=self.function.name)
        message_id = self.services.bus.publish(topic, encoded.data, encoded.attributes, ordering_key)
        crash_points.crash_point(crash_points.PUBLISH_DELIVERED, topic=topic)
        return message_id
