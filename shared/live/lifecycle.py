"""Each live function logs "worker started" once per process start (seed 001, Phase 4-1).

The runtime logs "started" for every invocation; a restart is visible as one "worker started"
line per function per process, with its schedule, whatever the number of invocations after it.
"""
from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger("sportsflow.live.lifecycle")
_announced: set[str] = set()
_lock = threading.Lock()

SCHEDULES = {
    "live_ingest": "Pub/Sub push (live-provider-events)",
    "live_poll": "every minute (Cloud Scheduler)",
    "live_minute_engine": "every minute, 4 ticks 15 s apart",
    "live_watchdog": "every minute",
    "live_diary_sync": "daily 00:05 UTC",
    "live_read_api": "HTTP requests",
}


def announce(function: str) -> None:
    with _lock:
        if function in _announced:
            return
        _announced.add(function)
    log.info("worker started", extra={"fields": {"worker": function, "schedule": SCHEDULES.get(function, ""),
                                                 "pid": os.getpid()}})
