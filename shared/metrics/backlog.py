"""`queue_backlog` points: the embedded bus's pending messages per subscription, sampled at the start
and the end of each drain (LocalBus's `backlog_observer`). The emulator has no such count to read
cheaply, and on gcp Pub/Sub's own `subscription/num_undelivered_messages` is the source (the
`dead_letters` and `push_backlog` alert policies of infra/monitoring.tf read it): nothing is
sampled there."""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from shared.metrics.recorder import record_quietly

if TYPE_CHECKING:
    from shared.config import Settings

QUEUE_BACKLOG = "queue_backlog"


class BacklogRecorder:
    def __init__(self, settings: "Settings"):
        self._settings = settings

    def __call__(self, pending: Mapping[str, int]) -> None:
        for subscription, count in pending.items():
            record_quietly(self._settings, QUEUE_BACKLOG, count, subscription=subscription)
