"""A live match feed for local runs: realistic football matches as provider pushes and polls.

`LiveFeed` plays scripted matches on a simulated provider clock (`speed` times real time):
delays before kick-off, the first half with added time, half time, the second half, in cup
matches extra time and penalties when level, interruptions, goals, and a heartbeat update
every 30-60 s of play (every 5 min at half time), each stamped with a strictly increasing
`provider_update_time`. Under `chaos` (a seed) pushes are duplicated, held back (so they
arrive reordered and stale) and some matches go silent for a while (no pushes, polls frozen),
so the watchdog has work.

`LiveProviderServer` serves the feed's diary, detail_live and data_update on 127.0.0.1 in the
provider server pattern of `shared.providers.server` (a ThreadingHTTPServer, `ProviderFaults`
for 5xx/hangs/slow answers under chaos).
"""
from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from shared.live.diary import utc_date
from shared.live.model import LiveProviderUpdate
from shared.providers.faults import Fault, ProviderFaults

DATA_UPDATE_WINDOW = 120
TEAMS = ["Arsenal", "Benfica", "Celtic", "Dortmund", "Everton", "Fiorentina", "Galatasaray", "Hajduk", "Inter",
         "Juventus", "Kaiserslautern", "Lazio", "Marseille", "Napoli", "Olympiacos", "Porto", "Rangers", "Sevilla"]


@dataclass(frozen=True)
class ScriptedEvent:
    at: int  # provider time, Unix seconds
    status_id: int
    home: int
    away: int
    kickoff_ts: int | None = None


@dataclass
class FeedMatch:
    diary: dict[str, Any]
    events: list[ScriptedEvent]
    pushed: int = 0  # events handed to pushes() so far
    silent_from: int | None = None
    silent_until: int | None = None

    @property
    def match_id(self) -> str:
        return self.diary["match_id"]

    def silent_at(self, now: int) -> bool:
        return self.silent_from is not None and self.silent_from <= now < (self.silent_until or 0)


def script_match(rng: random.Random, match_time: int, cup: bool) -> list[ScriptedEvent]:
    """One match, from the provider's point of view."""
    events: list[ScriptedEvent] = []
    score = [0, 0]
    t = match_time
    if rng.random() < 0.1:
        events.append(ScriptedEvent(t, 9, 0, 0))
        t += rng.randint(5, 20) * 60

    def period(status: int, start: int, minutes: int, added: int) -> int:
        events.append(ScriptedEvent(start, status, *score, kickoff_ts=start))
        end = start + (minutes + added) * 60
        clock = start
        interruption = rng.random() < 0.08
        while True:
            clock += rng.randint(30, 60)
            if clock >= end:
                return end
            if interruption and clock > start + 600:
                interruption = False
                events.append(ScriptedEvent(clock, 10, *score))
                clock += rng.randint(2, 6) * 60
                events.append(ScriptedEvent(clock, status, *score))
                end += (clock - events[-2].at)
                continue
            if rng.random() < 0.03:
                score[rng.randint(0, 1)] += 1
            events.append(ScriptedEvent(clock, status, *score))

    t = period(2, t, 45, rng.randint(0, 5))
    events.append(ScriptedEvent(t, 3, *score))
    for beat in range(1, 3):
        events.append(ScriptedEvent(t + beat * 300, 3, *score))
    t = period(4, t + 15 * 60, 45, rng.randint(1, 7))
    if cup and _level(score):
        t = period(5, t + 5 * 60, 30, rng.randint(0, 3))
        if _level(score):
            events.append(ScriptedEvent(t + 120, 7, *score))
            t += 120 + rng.randint(5, 12) * 60
            score[rng.randint(0, 1)] += 1  # the shoot-out decides; the score shown is after penalties
    events.append(ScriptedEvent(t, 8, *score))
    return _strictly_increasing(events)


def _level(score: list[int]) -> bool:
    home, away = score
    return home == away


def _strictly_increasing(events: list[ScriptedEvent]) -> list[ScriptedEvent]:
    out: list[ScriptedEvent] = []
    for event in sorted(events, key=lambda e: e.at):
        at = max(event.at, out[-1].at + 1) if out else event.at
        out.append(ScriptedEvent(at, event.status_id, event.home, event.away, event.kickoff_ts))
    return out


class SimClock:
    """Provider (and, in local runs, store) time: `start` plus `speed` times the real time elapsed."""

    def __init__(self, start: float, speed: float = 1.0, monotonic: Callable[[], float] = time.monotonic):
        self.start, self.speed, self._monotonic = start, speed, monotonic
        self._origin = monotonic()

    def seconds(self) -> float:
        return self.start + (self._monotonic() - self._origin) * self.speed

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.seconds(), tz=timezone.utc)


class ReplayFileInvalid(ValueError):
    """A --replay file that is not a live replay."""


class LiveFeed:
    def __init__(self, matches: list[FeedMatch], clock: SimClock, *, chaos: int | None = None):
        self.matches = {m.match_id: m for m in matches}
        self.clock = clock
        self.chaos = random.Random(chaos) if chaos is not None else None
        self._held: list[tuple[float, LiveProviderUpdate]] = []  # (release time, update)
        self._lock = threading.Lock()
        self.counts = {"events": 0, "pushed": 0, "duplicated": 0, "held_back": 0, "suppressed_silent": 0}
        if self.chaos:
            for match in self.chaos.sample(list(self.matches.values()), k=max(1, len(self.matches) // 5)):
                first_half = next(e.at for e in match.events if e.status_id == 2)
                match.silent_from = first_half + self.chaos.randint(10, 30) * 60
                match.silent_until = match.silent_from + self.chaos.randint(4, 12) * 60

    @classmethod
    def synthetic(cls, count: int, clock: SimClock, *, seed: int = 0, chaos: int | None = None) -> "LiveFeed":
        rng = random.Random(seed)
        now = int(clock.seconds())
        matches = []
        for n in range(count):
            match_time = now + 60 + rng.randint(0, 10) * 60
            cup = rng.random() < 0.3
            home, away = rng.sample(TEAMS, 2)
            diary = {"match_id": f"syn{seed}-{n:04d}", "competition": "Cup" if cup else "League", "home_team": home,
                     "away_team": away, "match_time": match_time, "cup": cup}
            matches.append(FeedMatch(diary, script_match(rng, match_time, cup)))
        return cls(matches, clock, chaos=chaos)

    @classmethod
    def replay(cls, path: Path, clock: SimClock, *, chaos: int | None = None) -> "LiveFeed":
        """A JSON file {"matches": [diary entries], "events": [{match_id, at, status_id, home, away, kickoff_ts?}]};
        a file of another shape is a ReplayFileInvalid naming it."""
        try:
            body = json.loads(Path(path).read_text())
            events: dict[str, list[ScriptedEvent]] = {}
            for e in body["events"]:
                events.setdefault(e["match_id"], []).append(
                    ScriptedEvent(int(e["at"]), int(e["status_id"]), int(e.get("home", 0)), int(e.get("away", 0)),
                                  e.get("kickoff_ts")))
            matches = [FeedMatch(d, _strictly_increasing(events.get(d["match_id"], []))) for d in body["matches"]]
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as error:
            raise ReplayFileInvalid(f"{path} is not a live replay file ({type(error).__name__}: {error}): it must be "
                                    'JSON {"matches": [diary entries], "events": [{"match_id", "at", "status_id", '
                                    '"home", "away"}]}') from None
        return cls(matches, clock, chaos=chaos)

    # --- what the provider knows now -----------------------------------------------------
    def _advance(self, now: int) -> list[tuple[FeedMatch, ScriptedEvent]]:
        due = []
        for match in self.matches.values():
            while match.pushed < len(match.events) and match.events[match.pushed].at <= now:
                due.append((match, match.events[match.pushed]))
                match.pushed += 1
                self.counts["events"] += 1
        return due

    def _visible(self, match: FeedMatch, now: int) -> ScriptedEvent | None:
        """The latest state the provider shows (frozen at the silence's start while silent)."""
        limit = match.silent_from if match.silent_at(now) else now
        shown = [e for e in match.events if e.at <= limit]
        return shown[-1] if shown else None

    def pushes(self) -> list[LiveProviderUpdate]:
        """The pushes to deliver now (chaos: duplicated, held back, suppressed while silent)."""
        with self._lock:
            now = int(self.clock.seconds())
            out = []
            for match, event in self._advance(now):
                if match.silent_at(event.at):
                    self.counts["suppressed_silent"] += 1
                    continue
                update = _update(match.match_id, event, "mqtt")
                if self.chaos and self.chaos.random() < 0.1:
                    self._held.append((now + self.chaos.randint(5, 90), update))
                    self.counts["held_back"] += 1
                    continue
                out.append(update)
                if self.chaos and self.chaos.random() < 0.1:
                    out.append(update)
                    self.counts["duplicated"] += 1
            released = [u for at, u in self._held if at <= now]
            self._held = [(at, u) for at, u in self._held if at > now]
            out += released
            self.counts["pushed"] += len(out)
            return out

    def diary(self, day: str) -> list[dict[str, Any]]:
        return [m.diary for m in self.matches.values() if utc_date(m.diary["match_time"]) == day]

    def detail_live(self) -> list[dict[str, Any]]:
        with self._lock:
            now = int(self.clock.seconds())
            shown = [(m, self._visible(m, now)) for m in self.matches.values()]
            return [_update(m.match_id, e, "detail_live").model_dump(exclude={"source"}) for m, e in shown
                    if e is not None and e.status_id in (2, 3, 4, 5, 7, 9, 10)]

    def data_update(self) -> list[dict[str, Any]]:
        with self._lock:
            now = int(self.clock.seconds())
            shown = [(m, self._visible(m, now)) for m in self.matches.values()]
            return [_update(m.match_id, e, "data_update").model_dump(exclude={"source"}) for m, e in shown
                    if e is not None and now - e.at <= DATA_UPDATE_WINDOW and not m.silent_at(now)]

    def finished(self) -> bool:
        return all(m.pushed == len(m.events) for m in self.matches.values()) and not self._held

    def final_states(self) -> dict[str, ScriptedEvent]:
        return {m.match_id: m.events[-1] for m in self.matches.values() if m.events}

    def kickoffs(self) -> dict[str, dict[int, int]]:
        """match -> period status -> the provider's kickoff time (first occurrence)."""
        result: dict[str, dict[int, int]] = {}
        for m in self.matches.values():
            for e in m.events:
                if e.kickoff_ts is not None:
                    result.setdefault(m.match_id, {}).setdefault(e.status_id, e.kickoff_ts)
        return result


def _update(match_id: str, event: ScriptedEvent, source: str) -> LiveProviderUpdate:
    return LiveProviderUpdate(match_id=match_id, status_id=event.status_id, provider_update_time=event.at,
                              home_score=event.home, away_score=event.away, kickoff_ts=event.kickoff_ts,
                              source=source)


class LiveProviderServer:
    """The feed's provider HTTP API on 127.0.0.1 (see shared.live.provider for the routes)."""

    def __init__(self, feed: LiveFeed, *, faults: ProviderFaults | None = None, port: int = 0):
        self.feed, self.faults = feed, faults
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="live-provider", daemon=True)
        self.requests: dict[str, int] = {}

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> str:
        self._thread.start()
        return self.base_url

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        self.requests[path] = self.requests.get(path, 0) + 1
        if path == "/live/diary":
            return 200, {"matches": self.feed.diary((query.get("date") or [""])[-1])}
        if path == "/live/detail_live":
            return 200, {"results": self.feed.detail_live()}
        if path == "/live/data_update":
            return 200, {"results": self.feed.data_update()}
        return 404, {"error": f"no route {path}"}


def _handler_for(server: LiveProviderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            fault: Fault | None = server.faults.decide(url.path) if server.faults else None
            if fault is not None and fault.kind == "error":
                return self._send(fault.status, {"error": f"injected fault: HTTP {fault.status}"})
            if fault is not None:
                time.sleep(min(fault.seconds, 6.0))
                if fault.kind == "hang":
                    self.close_connection = True
                    return None
            status, body = server.answer(url.path, parse_qs(url.query))
            return self._send(status, body)

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(HTTPStatus(status))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
