"""The `phase5_coordinator` HTTP function (SPEC §1 Phase 5, seed 004).

    POST /trigger   Pub/Sub push of phase4-precompute-complete: fan the date's players out
    POST /ready     Pub/Sub push of prediction-ready: fan them back in
    POST /start     6:00 PT backup: wait up to `wait_minutes` for Phase 4, then start when ≥ 80 %
                    of the day's players (or ≥ 100) have features
    POST /retry     6:15 and 6:30: re-request only the players still without a prediction
    GET|POST /status  7:00: coverage per date; logs `prediction coverage low` under 90 %

Every route is idempotent per date and input version: the batch ledger creates one batch per
inputs (shared.predictions.batches) and the fan-in claims its completion once
(shared.predictions.readiness), whichever routes fire, in any order, concurrently.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from shared.contracts.messages import PrecomputeCompleted, PredictionReady
from shared.predictions import fan_out, readiness
from shared.predictions.batches import BatchLedger
from shared.predictions.coverage import check_coverage, expected_players

if TYPE_CHECKING:
    from shared.bootstrap import Services
    from shared.runtime.context import FunctionContext

log = logging.getLogger("sportsflow.predictions.coordinator")
START_SHARE = 0.8
START_PLAYERS = 100
POLL = timedelta(minutes=1)
MAX_WAIT = timedelta(minutes=30)
CALL_BUDGET = timedelta(minutes=8)  # under the function's 540 s timeout
SWITCHED_OFF = "phase5_switched_off"
Sleep = Callable[[float], None]


# --- push routes (also delivered by the embedded bus and the pull dispatcher) ------------------
def on_precompute_completed(message: PrecomputeCompleted, fctx: "FunctionContext") -> fan_out.FanOut:
    services = fctx.services
    day = message.analysis_date
    predicted_before = BatchLedger(services.documents).current(day) is not None
    if not services.settings.predictions_enabled and not predicted_before:  # never leave stale predictions
        services.documents.set(f"{SWITCHED_OFF}/{day.isoformat()}", {"game_date": day.isoformat(),
                                                                     "at": services.documents.now()})
        fctx.logger.info("predictions switched off for the date",
                         extra={"fields": {"analysis_date": day.isoformat()}})
        return fan_out.FanOut(None, False, 0, "off")
    result = fan_out.request_predictions(services, day, route="trigger", claimant=fctx.envelope.message_id,
                                         publish=fctx.publish, feature_data_version=message.data_version)
    if result.state == "in_progress_elsewhere":
        _raise_if_own_fanout(services, result.batch_id, fctx.envelope.message_id)
    _log_fan_out(fctx.logger, day, result)
    return result


def on_prediction_ready(message: PredictionReady, fctx: "FunctionContext") -> bool:
    return readiness.on_ready(fctx.services, message, claimant=fctx.envelope.message_id, publish=fctx.publish)


PUSH_ROUTES = {"/trigger": on_precompute_completed, "/ready": on_prediction_ready}
METHODS = {"/trigger": ("POST",), "/ready": ("POST",), "/start": ("POST",), "/retry": ("POST",),
           "/status": ("GET", "POST")}


def _raise_if_own_fanout(services: "Services", batch_id: str | None, claimant: str) -> None:
    """A redelivery of the message that is fanning out (its lease still live) must not be
    acknowledged until the fan-out finishes: it retries, and takes over once the lease runs out."""
    from shared.orchestration.dependency_graph import ClaimNotYetPublished
    document = services.documents.get(f"phase5_batches/{batch_id}") if batch_id else None
    if document is not None and document.data.get("claimant") == claimant and not document.data["fanned_out"]:
        raise ClaimNotYetPublished(f"batch {batch_id}: this message's fan-out is unfinished; retrying until it is")


# --- scheduler routes ---------------------------------------------------------------------------
def start(services: "Services", day: date, *, publish, wait: timedelta = MAX_WAIT, sleep: Sleep = time.sleep,
          claimant: str | None = None, now: Callable[[], datetime] | None = None) -> dict[str, Any]:
    """Wait for Phase 4's features up to `wait` after the date's first /start, then start.

    One call waits at most CALL_BUDGET (a function's timeout is shorter than 30 minutes); while
    the deadline has not passed it answers `waiting` (503 over HTTP), and Cloud Scheduler's retry
    calls again. Time runs on the document store's clock (or `now`), so tests wait in virtual time."""
    clock = now or services.documents.now
    claimant = claimant or f"start-{uuid.uuid4().hex[:12]}"
    deadline = _first_start(services, day, clock()) + min(wait, MAX_WAIT)
    stop = min(deadline, clock() + CALL_BUDGET)
    version, available = fan_out.features_ready(services, day)
    while version is None and clock() < stop:
        sleep(max(min(POLL, stop - clock()).total_seconds(), 0.0))
        version, available = fan_out.features_ready(services, day)
    if version is not None:
        result = fan_out.request_predictions(services, day, route="start", claimant=claimant, publish=publish)
        return {"date": day.isoformat(), "started": True, "reason": "phase 4 complete", **_fan_out_json(result)}
    if clock() < deadline:
        return {"date": day.isoformat(), "started": False, "waiting": True,
                "retry_after_s": int(min(POLL * 5, deadline - clock()).total_seconds()) + 1,
                "reason": f"waiting for phase 4 until {deadline.isoformat()}"}
    expected = len(expected_players(services, day))
    enough = bool(available) and (len(available) >= START_SHARE * expected or len(available) >= START_PLAYERS)
    if not enough:
        log.warning("predictions not started", extra={"fields": {
            "analysis_date": day.isoformat(), "players_with_features": len(available), "expected": expected}})
        return {"date": day.isoformat(), "started": False, "players_with_features": len(available),
                "expected": expected, "reason": f"phase 4 not complete after {wait}, and fewer than {START_SHARE:.0%} "
                                                f"of {expected} players (or {START_PLAYERS}) have features"}
    unfinished = "unfinished-" + _roster_hash(available)
    result = fan_out.request_predictions(services, day, route="start", claimant=claimant, publish=publish,
                                         feature_data_version=unfinished, players=available)
    return {"date": day.isoformat(), "started": True, "reason": f"{len(available)} of {expected} players have "
                                                               "features (phase 4 unfinished)", **_fan_out_json(result)}


def _first_start(services: "Services", day: date, now: datetime) -> datetime:
    """When the date's first /start came: the 30-minute wait counts from there, across retries."""
    path = f"phase5_start/{day.isoformat()}"
    services.documents.create(path, {"game_date": day.isoformat(), "first_at": now})
    return services.documents.get(path).data["first_at"]


def retry(services: "Services", day: date, *, publish, claimant: str | None = None) -> dict[str, Any]:
    """Continue an unfinished fan-out, re-request players without a successful prediction, and
    complete a batch whose completion was never claimed. Starts (without waiting) if nothing has."""
    claimant = claimant or f"retry-{uuid.uuid4().hex[:12]}"
    ledger = BatchLedger(services.documents)
    batch = ledger.current(day)
    if batch is None:
        return {**start(services, day, publish=publish, wait=timedelta(0), claimant=claimant), "retried": 0}
    resumed = 0
    if not batch.fanned_out:
        lease = ledger.take_fanout_lease(batch.batch_id, claimant=claimant)
        if lease is not None:
            resumed = fan_out.publish_requests(ledger, ledger.get(batch.batch_id), lease, publish)
    predicted = {p for p, data in ledger.ready(batch.batch_id).items() if data["succeeded"]}
    missing = [p for p in batch.players[:ledger.get(batch.batch_id).published_upto] if p.player_id not in predicted]
    retried = fan_out.request_again(batch, missing, publish)
    completed = not missing and readiness.complete(services, batch, claimant=claimant, publish=publish)
    log.info("predictions retried", extra={"fields": {"analysis_date": day.isoformat(), "batch_id": batch.batch_id,
                                                      "retried": retried, "resumed": resumed}})
    return {"date": day.isoformat(), "batch_id": batch.batch_id, "retried": retried,
            "retried_players": [p.player_id for p in missing][:1000], "resumed_fan_out": resumed,
            "completed_now": completed}


# --- the HTTP function ---------------------------------------------------------------------------
def app(request):
    """The topology's handler for phase5_coordinator (authenticated by the HTTP entry point)."""
    from shared.runtime.entrypoints import process_services
    services = process_services()
    path = request.path.rstrip("/") or "/"
    allowed = METHODS.get(path, ())
    if request.method not in allowed:
        response = _json(405, {"error": f"{path} accepts {', '.join(allowed)}"})
        response.headers["Allow"] = ", ".join(allowed)
        return response
    if path in PUSH_ROUTES:
        return _push(services, path, request)
    body = request.get_json(force=True, silent=True) if request.method == "POST" else dict(request.args)
    if request.method == "POST" and body is None:
        body = dict(request.args)
    if not isinstance(body, dict):
        return _json(400, {"error": "the body must be a JSON object, e.g. {\"date\": \"2025-01-15\"}"})
    try:
        day = _date_of(body, services)
    except ValueError as err:
        return _json(400, {"error": str(err)})
    publish = _publisher(services, request)
    if path == "/start":
        wait = _minutes((body or {}).get("wait_minutes", 30))
        if wait is None:
            return _json(400, {"error": "wait_minutes must be a number from 0 to 30"})
        result = start(services, day, publish=publish, wait=wait)
        if result.get("waiting"):
            response = _json(503, result)
            response.headers["Retry-After"] = str(result["retry_after_s"])
            return response
        return _json(200, result)
    if path == "/retry":
        return _json(200, retry(services, day, publish=publish))
    if path == "/status":
        return _json(200, check_coverage(services, day).as_json())
    return _json(404, {"error": f"no route {request.path}"})


def _push(services: "Services", path: str, request):
    import os

    from shared.runtime.auth import caller_of
    from shared.runtime.pubsub_function import PubSubFunction, delivery_from_push
    from shared.topology import TOPOLOGY

    push_identity = os.environ.get("SPORTSFLOW_PUSH_INVOKER")
    if services.settings.backend == "gcp" and caller_of(request).identity != push_identity:
        return _json(403, {"error": f"{path} accepts Pub/Sub push deliveries only"})
    topic = next(s.topic for s in TOPOLOGY.subscriptions
                 if s.push_function == "phase5_coordinator" and s.push_path == path)
    function = PubSubFunction(TOPOLOGY.function("phase5_coordinator"), TOPOLOGY, PUSH_ROUTES[path],
                              lambda: services, topic=topic)
    function.handle(delivery_from_push(request.get_json(force=True, silent=True)))  # raises → 500: redelivered
    return ("", 204)


def _publisher(services: "Services", request):
    """Publishes under one run id per request, carrying the caller's correlation id when it is a plain id."""
    from shared.contracts.envelope import new_id
    from shared.pipeline.phase1 import bus_publisher
    from shared.runtime.entrypoints import _header_id

    correlation_id = _header_id(request.headers.get("X-Correlation-Id")) or new_id()
    return bus_publisher(services.bus, run_id=new_id(), correlation_id=correlation_id, producer="phase5_coordinator")


def _date_of(body: dict, services: "Services") -> date:
    from shared.pipeline.phase1 import league_today
    value = body.get("date", "today")
    if value in ("today", None, ""):
        return league_today(services.documents.now())
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError("date must be YYYY-MM-DD or 'today'") from None


def _minutes(value: Any) -> timedelta | None:
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        return None
    return timedelta(minutes=minutes) if 0 <= minutes <= 30 else None


def _json(status: int, body: dict[str, Any]):
    import flask
    return flask.Response(json.dumps(body, default=str), status=status, mimetype="application/json")


def _roster_hash(players) -> str:
    import hashlib
    text = ",".join(f"{p.player_id}:{p.game_id}" for p in sorted(players, key=lambda p: (p.player_id, p.game_id)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fan_out_json(result: fan_out.FanOut) -> dict[str, Any]:
    return {"batch_id": result.batch_id, "created": result.created, "requests_published": result.published,
            "state": result.state}


def _log_fan_out(logger, day: date, result: fan_out.FanOut) -> None:
    logger.info("predictions fan-out", extra={"fields": {"analysis_date": day.isoformat(), **_fan_out_json(result)}})
