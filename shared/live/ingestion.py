"""Provider events into the one transition: Pub/Sub pushes (`live_ingest`) and polls (`live_poll`).

Pushes: the provider's MQTT/WebSocket stream is bridged onto the topic `live-provider-events`
(one `LiveProviderUpdate` per event); `handle_provider_update` applies it. A match the diary
never created is a permanent error (dead letter with the reason: invariant 14, nothing else
creates matches). Polls: the scheduled `live_poll` reads `data_update` through the resilience
client and applies every entry the same way; an entry that does not parse is dead-lettered.

The message rate is logged aggregated ("live.ingest.rate", every 100 messages or 30 s) with
the verdicts counted; never one INFO line per message.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from shared.live.http import json_response, services_or_process
from shared.live.lifecycle import announce
from shared.live.model import LiveProviderUpdate
from shared.live.provider import LiveProvider, ProviderNotConfigured, live_provider_url
from shared.live.store import MatchStore, UnknownMatch, WriteOutcome
from shared.observability.rate_log import RateLog
from shared.resilience import ProviderError
from shared.runtime.dead_letters import publish_dead_letter
from shared.runtime.errors import PermanentError

if TYPE_CHECKING:
    import flask

    from shared.bootstrap import Services
    from shared.runtime.context import FunctionContext

log = logging.getLogger("sportsflow.live.ingestion")
TOPIC = "live-provider-events"


def RateMeter(name: str, **options: Any) -> RateLog:
    """The verdicts of one ingestion source (push | poll), logged as "live.ingest.rate"."""
    return RateLog(log, "live.ingest.rate", counts_field="verdicts", source=name, **options)


PUSH_RATE = RateMeter("push")
POLL_RATE = RateMeter("poll")


def apply_update(store: MatchStore, update: LiveProviderUpdate, meter: RateLog) -> WriteOutcome:
    try:
        outcome = store.apply(update)
    except UnknownMatch:
        meter.record("unknown_match")
        raise
    meter.record(outcome.verdict)
    if outcome.verdict != "accepted":
        log.debug("live.ingest.rejected", extra={"fields": {
            "match_id": update.match_id, "verdict": outcome.verdict,
            "provider_update_time": update.provider_update_time, "stored": outcome.provider_update_time}})
    return outcome


def handle_provider_update(message: LiveProviderUpdate, ctx: "FunctionContext") -> WriteOutcome:
    """The `live_ingest` function (Pub/Sub): one provider event into the transition."""
    announce("live_ingest")
    try:
        return apply_update(MatchStore(ctx.services.documents), message, PUSH_RATE)
    except UnknownMatch:
        raise PermanentError(f"match {message.match_id} is not in the diary: only the diary sync creates matches; "
                             f"run it for the match's date (`live_diary_sync`), then replay this dead letter") from None


def poll_once(services: "Services", provider: LiveProvider) -> dict[str, Any]:
    """One data_update poll applied; entries that do not parse are dead-lettered."""
    parsed = provider.data_update()
    store = MatchStore(services.documents)
    verdicts: Counter[str] = Counter()
    for update in parsed.updates:
        try:
            verdicts[apply_update(store, update, POLL_RATE).verdict] += 1
        except UnknownMatch:
            verdicts["unknown_match"] += 1
            _dead_letter(services, update.model_dump_json().encode(), "unknown_match",
                         f"match {update.match_id} is not in the diary: run the diary sync for its date")
    for entry, reason in parsed.invalid:
        verdicts["invalid"] += 1
        _dead_letter(services, json.dumps(entry, default=str).encode(), "invalid_provider_update", reason)
    return {"updates": len(parsed.updates), "verdicts": dict(verdicts)}


def _dead_letter(services: "Services", data: bytes, kind: str, reason: str) -> None:
    publish_dead_letter(services.bus, source_topic=TOPIC, function="live_poll", error_kind=kind, reason=reason,
                        data=data, attributes={}, delivery_attempt=1, settings=services.settings)


def handle_poll_request(request: "flask.Request", *, services: "Services | None" = None,
                        provider: LiveProvider | None = None) -> "flask.Response":
    """The `live_poll` function (HTTP, scheduled every minute). 503 when the provider is unavailable."""
    announce("live_poll")
    del request  # no parameters
    services = services_or_process(services)
    own = provider is None
    try:
        provider = provider or LiveProvider.from_url(live_provider_url(services.settings.provider_url))
    except ProviderNotConfigured as error:
        return json_response(500, {"error": str(error)})
    try:
        return json_response(200, poll_once(services, provider))
    except ProviderError as error:
        return json_response(503, {"error": f"live provider unavailable: {error}; the next scheduled poll retries"})
    finally:
        if own:
            provider.close()
