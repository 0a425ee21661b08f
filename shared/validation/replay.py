"""The replay result sources: both payload shapes served from a Retrosheet game log, with faults
per source (SPEC §2's "two or more sources").

    with ReplayResultServers(games, data_faults={"espn": DataFaults(wrong_score={"SDN202403200"})}) as urls:
        urls["espn"]  # http://127.0.0.1:PORT serving /apis/site/v2/sports/baseball/mlb/scoreboard?date=...

Transport faults (outage, delay, 5xx, hangs) are the provider server's `ProviderFaults`, one per
source; data faults (`DataFaults`) change what one source says:

- wrong_score: the home team's score (and its last batted inning) is 2 runs higher — a payload
  that adds up, but disagrees with the other source;
- missing_inning: the away team's 3rd inning is missing from the line score (it no longer adds up);
- corrected: the game is first served with the away team one run higher in its last inning, then
  with the true score once `apply_corrections()` is called (a late official correction).
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Mapping

from shared.providers.faults import ProviderFaults
from shared.providers.server import ProviderServer
from shared.validation.games import GameFacts
from shared.validation.source_payloads import RENDER, ROUTES, SOURCES


@dataclass
class DataFaults:
    wrong_score: set[str] = field(default_factory=set)
    missing_inning: set[str] = field(default_factory=set)
    corrected: set[str] = field(default_factory=set)

    @classmethod
    def seeded(cls, seed: int, game_ids: Iterable[str], *, wrong_score_rate: float = 0.0,
               missing_inning_rate: float = 0.0) -> "DataFaults":
        rng = random.Random(seed)
        faults = cls()
        for gid in sorted(game_ids):
            draw = rng.random()
            if draw < wrong_score_rate:
                faults.wrong_score.add(gid)
            elif draw < wrong_score_rate + missing_inning_rate:
                faults.missing_inning.add(gid)
        return faults

    def apply(self, facts: GameFacts, *, corrections_published: bool) -> GameFacts:
        if facts.game_id in self.corrected and not corrections_published:
            facts = _bump_last_inning(facts, "away", 1)
        if facts.game_id in self.wrong_score:
            facts = _bump_last_inning(facts, "home", 2)
        if facts.game_id in self.missing_inning:  # the away team's 3rd inning is missing from the line score
            facts = facts.model_copy(update={"away_innings": facts.away_innings[:2] + (None,) + facts.away_innings[3:]})
        return facts


def _bump_last_inning(facts: GameFacts, side: str, runs: int) -> GameFacts:
    innings = list(facts.innings(side))
    last = max(i for i, r in enumerate(innings) if r is not None)
    innings[last] = (innings[last] or 0) + runs
    return facts.model_copy(update={f"{side}_innings": tuple(innings), f"{side}_runs": facts.runs(side) + runs})


class ReplayResults:
    """One source's scoreboard for any date of the game log (a `ProviderSource`)."""

    def __init__(self, source: str, games: Iterable[GameFacts], faults: DataFaults | None = None) -> None:
        if source not in SOURCES:
            raise ValueError(f"unknown result source {source!r}: use one of {SOURCES}")
        self.source = source
        self.label = f"replay-{source}"
        self.faults = faults or DataFaults()
        self._by_date: dict[date, list[GameFacts]] = {}
        for game in games:
            self._by_date.setdefault(game.game_date, []).append(game)
        self._corrections_published = threading.Event()

    def apply_corrections(self) -> None:
        self._corrections_published.set()

    def payload(self, route: str, day: date) -> dict[str, Any]:
        published = self._corrections_published.is_set()
        games = [self.faults.apply(g, corrections_published=published) for g in self._by_date.get(day, [])]
        return RENDER[self.source](day, games)


class ReplayResultServers:
    """One provider server per source, each with its own transport and data faults."""

    def __init__(self, games: Iterable[GameFacts], *, transport_faults: Mapping[str, ProviderFaults] | None = None,
                 data_faults: Mapping[str, DataFaults] | None = None) -> None:
        games = list(games)
        self.sources = {name: ReplayResults(name, games, (data_faults or {}).get(name)) for name in SOURCES}
        self.servers = {name: ProviderServer(self.sources[name], faults=(transport_faults or {}).get(name),
                                             routes={ROUTES[name]: name}) for name in SOURCES}

    def apply_corrections(self) -> None:
        for source in self.sources.values():
            source.apply_corrections()

    def start(self) -> dict[str, str]:
        return {name: server.start() for name, server in self.servers.items()}

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def fault_counts(self) -> dict[str, int]:
        return {f"{name}_{kind}": n for name, server in self.servers.items()
                for kind, n in server.fault_counts().items()}

    def __enter__(self) -> dict[str, str]:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
