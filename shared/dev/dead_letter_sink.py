"""Records what reaches the dead-letter topics, as the embedded deployment does: pulls every
`*-dead-letter--sink` subscription of the topology and stores each letter once
(shared.runtime.dead_letters.DeadLetterRecorder), so `sportsflow status` and the reconciler see
the dead letters of push deliveries too.

    python -m shared.dev.dead_letter_sink --home H
"""
from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

log = logging.getLogger("sportsflow.dev.dead_letter_sink")
PULL_TIMEOUT_S = 2.0


def sink_subscriptions(topology) -> dict[str, str]:
    """sink subscription -> the topic whose dead letters it holds."""
    from shared.runtime.dead_letters import DEAD_LETTER_SUFFIX
    return {s.name: s.topic.removesuffix(DEAD_LETTER_SUFFIX) for s in topology.subscriptions
            if s.topic.endswith(DEAD_LETTER_SUFFIX) and not s.push_function}


def drain_once(services, sinks: dict[str, str], recorders: dict) -> int:
    """One pull of every sink; returns the letters recorded."""
    recorded = 0
    for subscription in sinks:
        for message in services.bus.pull(subscription, 50, timeout=PULL_TIMEOUT_S / max(1, len(sinks))):
            try:
                recorders[subscription](message)
            except Exception as err:
                if type(err).__name__ != "AlreadyExists":  # recorded before: idempotent by content
                    log.exception("dead letter not recorded; it will be pulled again")
                    continue
            services.bus.ack(subscription, [message.ack_id])
            recorded += 1
            log.warning("dead letter recorded", extra={"fields": {"subscription": subscription,
                                                                  "message_id": message.message_id}})
    return recorded


def main(argv: list[str] | None = None) -> None:
    from shared.bootstrap import Services
    from shared.config import Settings
    from shared.observability.logging import configure_logging
    from shared.runtime.dead_letters import DeadLetterRecorder

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args(argv)
    configure_logging()
    services = Services(Settings.from_env(backend="emulator", home=args.home))
    sinks = sink_subscriptions(services.topology)
    recorders = {name: DeadLetterRecorder(services.documents, topic, settings=services.settings)
                 for name, topic in sinks.items()}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log.info("dead-letter sink started", extra={"fields": {"subscriptions": sorted(sinks)}})
    while not stop.is_set():
        try:
            drain_once(services, sinks, recorders)
        except Exception:
            log.exception("dead-letter pull failed; pulling again")
            stop.wait(1.0)
    services.close()


if __name__ == "__main__":
    main()
