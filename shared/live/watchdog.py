"""The watchdog: flags stale and frozen live matches and climbs a ladder (SPEC §3, seed 001 4-3).

Rules (on the store's clock, from stored fields only):
- stale: a live match (2, 3, 4, 5, 7) with no accepted provider event for 120 s, or 900 s at
  half time (`last_event_ts`);
- frozen: at half time for more than 30 min (`status_since_ts`).

Ladder, one step per watchdog pass while the same condition persists (same reason, no new
event): 1 warn → 2 forced reconcile (a provider poll of the match, written through the same
monotonic transition, so it never overwrites newer provider state: invariant 7) → 3 error
(reconciling again on every further pass). A new event or the end of the condition resets it.
The ladder position lives in `live_watchdog/{match_id}`, never in the match document.

Every flagged pass logs "live match stale" (counted by infra/monitoring.tf, labelled by
`ladder_step` and `reason`) with match_id, status_id, provider_update_time, last_event_ts.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from shared.live.lifecycle import announce
from shared.live.model import LiveProviderUpdate
from shared.live.status import LIVE
from shared.live.store import MatchStore, UnknownMatch

log = logging.getLogger("sportsflow.live.watchdog")
LADDER_COLLECTION = "live_watchdog"
STALE_LIVE_SECONDS = 120
STALE_HALF_TIME_SECONDS = 900
FROZEN_HALF_TIME_SECONDS = 30 * 60
STEPS = {1: "warn", 2: "reconcile", 3: "error"}
ALERT_MESSAGE = "live match stale"

Poll = Callable[[str], "LiveProviderUpdate | None"]


def stale_reason(match: dict[str, Any], now: int) -> str | None:
    """Why a stored match is stale or frozen now, or None. Shared by the watchdog and the read API."""
    status_id = match["status_id"]
    if status_id not in LIVE:
        return None
    if status_id == 3 and now - (match.get("status_since_ts") or now) > FROZEN_HALF_TIME_SECONDS:
        return "frozen_half_time"
    last_event = match.get("last_event_ts") or match.get("status_since_ts") or match["created_at"]
    threshold = STALE_HALF_TIME_SECONDS if status_id == 3 else STALE_LIVE_SECONDS
    if now - last_event > threshold:
        return "stale_half_time" if status_id == 3 else "stale_live"
    return None


@dataclass
class WatchdogReport:
    flagged: dict[str, str] = field(default_factory=dict)  # match_id -> reason
    steps: dict[str, int] = field(default_factory=dict)  # match_id -> ladder step taken
    reconciled: dict[str, str] = field(default_factory=dict)  # match_id -> verdict of the reconcile write
    cleared: list[str] = field(default_factory=list)


class Watchdog:
    def __init__(self, store: MatchStore, poll: Poll | None):
        """`poll(match_id)` asks the provider for the match's current state (detail_live);
        None (no provider configured) makes the reconcile step log that it could not reconcile."""
        self.store = store
        self.poll = poll

    def run(self) -> WatchdogReport:
        report = WatchdogReport()
        now = self.store.now()
        flagged_ids = set()
        for doc in self.store.live_documents():
            match = doc.data
            reason = stale_reason(match, now)
            if reason is None:
                continue
            flagged_ids.add(match["match_id"])
            report.flagged[match["match_id"]] = reason
            step = self._climb(match, reason, now)
            report.steps[match["match_id"]] = step
            self._act(match, reason, step, report)
        self._clear_ladders(flagged_ids, report)
        return report

    def _climb(self, match: dict[str, Any], reason: str, now: int) -> int:
        path = f"{LADDER_COLLECTION}/{match['match_id']}"

        def attempt(tx) -> int:
            ladder = tx.get(path)
            same = (ladder is not None and ladder.data["reason"] == reason
                    and ladder.data["last_event_ts"] == match.get("last_event_ts"))
            step = min(ladder.data["step"] + 1, 3) if same else 1
            tx.set(path, {"match_id": match["match_id"], "reason": reason, "step": step,
                          "last_event_ts": match.get("last_event_ts"), "stepped_at": now})
            return step

        return self.store.documents.run_transaction(attempt)

    def _act(self, match: dict[str, Any], reason: str, step: int, report: WatchdogReport) -> None:
        fields = {"match_id": match["match_id"], "status_id": match["status_id"],
                  "provider_update_time": match.get("provider_update_time"),
                  "last_event_ts": match.get("last_event_ts"), "reason": reason,
                  "ladder_step": STEPS[step], "seconds_since_event": self._since_event(match)}
        if step >= 2:
            fields["reconcile"] = report.reconciled[match["match_id"]] = self._reconcile(match["match_id"])
        if step >= 3:
            fields["next_step"] = ("the provider has no newer state for this match: check the provider feed "
                                   "(live_ingest logs, the provider status) or correct the match by hand")
            log.error(ALERT_MESSAGE, extra={"fields": fields})
        else:
            log.warning(ALERT_MESSAGE, extra={"fields": fields})

    def _since_event(self, match: dict[str, Any]) -> int:
        last_event = match.get("last_event_ts") or match.get("status_since_ts") or match["created_at"]
        return self.store.now() - last_event

    def _reconcile(self, match_id: str) -> str:
        """A forced provider poll, written through the monotonic transition (never over newer state)."""
        if self.poll is None:
            return "no_provider"
        try:
            update = self.poll(match_id)
        except Exception as error:  # the provider is down: the ladder goes on, the next pass retries
            log.warning("live reconcile failed", extra={"fields": {"match_id": match_id, "error": str(error)}})
            return "provider_failed"
        if update is None:
            return "not_in_provider"
        try:
            outcome = self.store.apply(update.model_copy(update={"source": "reconcile"}))
        except UnknownMatch:
            return "unknown_match"
        log.info("live reconcile", extra={"fields": {"match_id": match_id, "verdict": outcome.verdict,
                                                     "provider_update_time": update.provider_update_time}})
        return outcome.verdict

    def _clear_ladders(self, flagged_ids: set[str], report: WatchdogReport) -> None:
        for ladder in self.store.documents.query(LADDER_COLLECTION):
            if ladder.data["match_id"] not in flagged_ids:
                self.store.documents.delete(ladder.path)
                report.cleared.append(ladder.data["match_id"])


def handle_watchdog_request(request, *, services=None, poll: Poll | None = None):
    """The `live_watchdog` function (HTTP, every minute)."""
    from shared.live.http import json_response, services_or_process
    from shared.live.provider import LiveProvider, ProviderNotConfigured, live_provider_url
    announce("live_watchdog")
    del request
    services = services_or_process(services)
    provider = None
    if poll is None:
        try:
            provider = LiveProvider.from_url(live_provider_url(services.settings.provider_url))
            poll = provider.detail_live
        except ProviderNotConfigured as error:
            log.warning("live watchdog has no provider to reconcile with", extra={"fields": {"error": str(error)}})
    try:
        report = Watchdog(MatchStore(services.documents), poll).run()
    finally:
        if provider is not None:
            provider.close()
    return json_response(200, {"flagged": report.flagged, "steps": report.steps, "reconciled": report.reconciled,
                               "cleared": report.cleared})
