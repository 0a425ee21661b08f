"""The minute engine: every 15 s, the minute of each running match from its kickoff timestamps.

It writes only `minute`, `minute_text` and `last_minute_update_ts` (invariant 2: never
`updated_at`), and only when what it would show differs from what is stored (invariant 9: an
unchanged minute is no write). Frozen statuses are never touched (invariant 10). Each write is
conditional on the version it read: if a provider write landed in between, the match is re-read
and recomputed, so a stale tick never overwrites a fresher status.

Scheduling: Cloud Scheduler's finest schedule is one minute, so the job `live-minute-engine`
calls the function once a minute and one invocation ticks `TICKS_PER_INVOCATION` (4) times,
15 s apart, stopping early at its deadline (`run_ticks`). Overlapping invocations are harmless:
every write is conditional and idempotent.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from shared.live.lifecycle import announce
from shared.live.minute import minute_of
from shared.live.status import RUNNING_CLOCK
from shared.live.store import MatchStore

log = logging.getLogger("sportsflow.live.minute_engine")
TICK_SECONDS = 15.0
TICKS_PER_INVOCATION = 4
MAX_RETRIES_PER_MATCH = 3


@dataclass
class TickReport:
    examined: int = 0
    written: int = 0
    unchanged: int = 0
    conflicts: int = 0
    written_ids: list[str] = field(default_factory=list)


def tick(store: MatchStore) -> TickReport:
    """One pass over the running matches."""
    report = TickReport()
    for doc in store.live_documents(sorted(RUNNING_CLOCK)):
        report.examined += 1
        _tick_one(store, doc, report)
    if report.written:
        log.info("minute update", extra={"fields": {"examined": report.examined, "written": report.written,
                                                    "conflicts": report.conflicts}})
    return report


def _tick_one(store: MatchStore, doc, report: TickReport) -> None:
    for _ in range(MAX_RETRIES_PER_MATCH):
        if doc is None or doc.data["status_id"] not in RUNNING_CLOCK:
            return
        now = store.now()
        shown = minute_of(doc.data, now)
        if (shown.minute, shown.text) == (doc.data.get("minute"), doc.data.get("minute_text")):
            report.unchanged += 1
            return
        if store.write_minute(doc, shown, now):
            report.written += 1
            report.written_ids.append(doc.data["match_id"])
            log.debug("minute update", extra={"fields": {"match_id": doc.data["match_id"], "minute": shown.minute,
                                                         "minute_text": shown.text}})
            return
        report.conflicts += 1
        doc = store.reread(doc)


def run_ticks(store: MatchStore, *, ticks: int = TICKS_PER_INVOCATION, interval: float = TICK_SECONDS,
              deadline_seconds: float = 55.0, sleep: Callable[[float], None] = time.sleep,
              clock: Callable[[], float] = time.monotonic) -> list[TickReport]:
    """One scheduled invocation: `ticks` passes `interval` apart, none started past the deadline."""
    started = clock()
    reports = []
    for number in range(ticks):
        if number:
            wait = started + number * interval - clock()
            if wait > 0:
                sleep(wait)
        if clock() - started > deadline_seconds:
            break
        reports.append(tick(store))
    return reports


def handle_minute_request(request, *, services=None, sleep: Callable[[float], None] = time.sleep):
    """The `live_minute_engine` function (HTTP, every minute): {"ticks": 1..4} passes 15 s apart."""
    from shared.live.http import json_response, request_body, services_or_process
    announce("live_minute_engine")
    try:
        ticks = int(request_body(request).get("ticks", TICKS_PER_INVOCATION))
    except (TypeError, ValueError):
        ticks = 0
    if not 1 <= ticks <= TICKS_PER_INVOCATION:
        return json_response(400, {"error": f"ticks must be an integer within 1..{TICKS_PER_INVOCATION}"})
    store = MatchStore(services_or_process(services).documents)
    reports = run_ticks(store, ticks=ticks, sleep=sleep)
    return json_response(200, {"ticks": [{"examined": r.examined, "written": r.written, "unchanged": r.unchanged,
                                          "conflicts": r.conflicts} for r in reports]})
