"""`sportsflow live`: the whole live subsystem in one process on a simulated clock.

The feed's provider server answers polls; its pushes go through the embedded bus to the real
`live_ingest` function; the minute engine ticks every 15 s, the poll and the watchdog run every
60 s — all on the feed's clock, which is also the store's clock, so `--speed 60` plays a match in
two minutes and every rule (staleness, minutes) holds in simulated time.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from shared.adapters.local.bus import LocalBus
from shared.adapters.local.documents import SqliteDocumentStore
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts import encode
from shared.live.diary import sync_day
from shared.live.engine import TICK_SECONDS, tick
from shared.live.feed import LiveFeed, LiveProviderServer
from shared.live.ingestion import PUSH_RATE, TOPIC, poll_once
from shared.live.provider import LiveProvider
from shared.live.status import LIVE
from shared.live.store import MatchStore
from shared.live.watchdog import Watchdog
from shared.ports.documents import DocumentStore
from shared.providers.faults import ProviderFaults
from shared.resilience import ProviderClient, ProviderError, ProviderRegistry
from shared.runtime.dead_letters import list_dead_letters
from shared.runtime.embedded import EmbeddedDeployment

POLL_SECONDS = 60.0
WATCHDOG_SECONDS = 60.0


def chaos_faults(seed: int) -> ProviderFaults:
    """Provider 5xx and slow answers (no hangs: at --speed 60 a 5 s timeout is 5 simulated minutes)."""
    return ProviderFaults(seed, error_rate=0.05, slow_rate=0.03, slow_seconds=0.2)


@dataclass
class _Every:
    seconds: float
    due: float = float("-inf")

    def ready(self, now: float) -> bool:
        if now < self.due:
            return False
        self.due = now + self.seconds
        return True


class OnFeedClock:
    """A document store (the Firestore emulator's) whose `now()` is the feed's simulated clock, so
    staleness and minutes hold in simulated time there too; everything else is the store's own."""

    def __init__(self, documents: DocumentStore, clock: Callable[[], datetime]):
        self._documents, self._clock = documents, clock

    def now(self) -> datetime:
        return self._clock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._documents, name)


def run_local(home: Path, feed: LiveFeed, *, faults: ProviderFaults | None = None, max_real_seconds: float = 600,
              progress: Callable[[dict[str, Any]], None] | None = None,
              documents: DocumentStore | None = None) -> dict[str, Any]:
    """`documents`: the store to play into (default: a SQLite file in `home`), read on the feed's clock."""
    home.mkdir(parents=True, exist_ok=True)
    documents = OnFeedClock(documents, feed.clock) if documents is not None else \
        SqliteDocumentStore(home / "live-documents.sqlite", clock=feed.clock)
    services = Services.with_adapters(Settings(home=home), bus=LocalBus(), documents=documents)
    EmbeddedDeployment(services).deploy()
    store = MatchStore(documents)
    ticks, polls, passes = _Every(TICK_SECONDS), _Every(POLL_SECONDS), _Every(WATCHDOG_SECONDS)
    watchdog_counts: Counter[str] = Counter()
    poll_verdicts: Counter[str] = Counter()
    minute_writes = 0
    lag = _LoopLag()
    started = time.monotonic()
    with LiveProviderServer(feed, faults=faults) as url:
        client = ProviderClient("live-feed", url, registry=ProviderRegistry())
        provider = LiveProvider(client)
        days = sorted({(feed.clock() + timedelta(days=d)).date().isoformat() for d in (0, 1)})
        diary = {day: _retrying(lambda day=day: sync_day(store, provider, day)) for day in days}
        watchdog = Watchdog(store, provider.detail_live)
        while time.monotonic() - started < max_real_seconds:
            for update in feed.pushes():
                encoded = encode(update, run_id="feed", correlation_id="feed", producer="live-feed")
                services.bus.publish(TOPIC, encoded.data, encoded.attributes)
            services.bus.drain(max_seconds=3600)
            now = feed.clock.seconds()
            lag.observe(now)
            if ticks.ready(now):
                minute_writes += tick(store).written
            if polls.ready(now):
                try:
                    poll_verdicts.update(poll_once(services, provider)["verdicts"])
                except ProviderError:
                    poll_verdicts["provider_unavailable"] += 1
            if passes.ready(now):
                report = watchdog.run()
                watchdog_counts.update(f"{reason}:step{report.steps[m]}" for m, reason in report.flagged.items())
                if progress:
                    progress(_snapshot(store, now))
            if feed.finished() and not store.live_documents():
                break
            time.sleep(0.02)
        services.bus.drain(max_seconds=3600)
        client.close()
    summary = _summary(feed, store, diary, PUSH_RATE.totals, poll_verdicts, watchdog_counts, minute_writes,
                       services, time.monotonic() - started)
    summary |= lag.summary()
    documents.close()
    return summary


class _LoopLag:
    """How far the simulated clock ran between two turns of the loop. A turn longer than a minute
    tick (a high --speed on a busy machine) skips minute ticks, polls or watchdog passes, so the
    run would not have exercised them: the summary says so instead of passing quietly."""

    def __init__(self) -> None:
        self.previous: float | None = None
        self.max_gap = 0.0
        self.skipped_ticks = 0

    def observe(self, now: float) -> None:
        if self.previous is not None:
            gap = now - self.previous
            self.max_gap = max(self.max_gap, gap)
            self.skipped_ticks += max(0, int(gap // TICK_SECONDS) - 1)
        self.previous = now

    def summary(self) -> dict[str, Any]:
        warnings = []
        if self.skipped_ticks:
            warnings.append(f"the simulated clock outran the loop: up to {self.max_gap:.0f} simulated seconds between "
                            f"turns (a minute tick is {TICK_SECONDS:g} s), {self.skipped_ticks} minute tick(s) "
                            f"skipped; rerun with a lower --speed for every tick, poll and watchdog pass")
        return {"max_loop_gap_sim_seconds": round(self.max_gap, 1), "skipped_minute_ticks": self.skipped_ticks,
                "warnings": warnings}


def _retrying(call: Callable[[], Any], attempts: int = 5) -> Any:
    for attempt in range(attempts):
        try:
            return call()
        except ProviderError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)
    return None


def _snapshot(store: MatchStore, now: float) -> dict[str, Any]:
    live = store.live_documents()
    return {"sim_time": int(now), "live": len(live),
            "by_status": dict(Counter(str(d.data["status_id"]) for d in live))}


def _summary(feed: LiveFeed, store: MatchStore, diary, push_verdicts, poll_verdicts, watchdog_counts,
             minute_writes: int, services: Services, real_seconds: float) -> dict[str, Any]:
    finals, kickoffs = feed.final_states(), feed.kickoffs()
    converged, from_provider, problems = 0, Counter(), []
    for match_id, event in finals.items():
        stored = store.get(match_id)
        if (stored["status_id"], stored["home_score"], stored["away_score"], stored["provider_update_time"]) == (
                event.status_id, event.home, event.away, event.at):
            converged += 1
        else:
            problems.append({"match_id": match_id, "stored_status": stored["status_id"],
                             "provider_status": event.status_id})
        for status, field in ((2, "first_half_kickoff_ts"), (4, "second_half_kickoff_ts"), (5, "overtime_kickoff_ts")):
            if status in kickoffs.get(match_id, {}):
                from_provider["provider" if stored[field] == kickoffs[match_id][status] else
                              "ingestion_time" if stored[field] else "missing"] += 1
    return {"matches": len(finals), "converged_to_provider_final_state": converged, "not_converged": problems,
            "still_live": sum(1 for d in store.live_documents() if d.data["status_id"] in LIVE),
            "diary": diary, "feed": feed.counts, "push_verdicts": dict(push_verdicts),
            "poll_verdicts": dict(poll_verdicts), "watchdog_flags": dict(watchdog_counts),
            "minute_writes": minute_writes, "kickoff_sources": dict(from_provider),
            "dead_letters": len(list_dead_letters(services.documents, TOPIC)), "real_seconds": round(real_seconds, 1)}
