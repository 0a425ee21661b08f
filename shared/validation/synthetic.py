"""The synthetic validation (SPEC §2): every 5 minutes a synthetic game goes through the whole path
— replay sources over HTTP, the monitor, `game-final` on the bus, the validation function,
evidence, the Merkle log — and the result is checked end to end. Any failing step logs
`synthetic validation failed` naming the step (an alert in infra/monitoring.tf).

The synthetic game is the Dodgers at home on 2000-01-01 (`SYNTHETIC_DAY`, never a real game of a
season we validate); every run serves it with a new run number inside the payloads, so each run is
a new game version and really validates instead of finding the last run's decision. Its
decisions are flagged `synthetic` and left out of season summaries.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.bootstrap import Services
from shared.evidence_log.proof import check_bundle, inclusion_bundle
from shared.validation import records, system
from shared.validation.games import GameFacts, game_id
from shared.validation.replay import ReplayResultServers
from shared.validation.runtime import monitor_for

log = logging.getLogger("sportsflow.validation.synthetic")
STATE = "validation_synthetic/state"
WAIT_SECONDS = 60.0
SYNTHETIC_DAY = date(2000, 1, 1)


@dataclass
class SyntheticResult:
    ok: bool
    step: str
    reason: str = ""
    game_id: str = ""
    game_version: int = 0
    decisions: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class _Numbered(ReplayResultServers):
    """The replay servers, with the run number in every payload (a new game version per run)."""

    def __init__(self, games, run_number: int) -> None:
        super().__init__(games)
        for source in self.sources.values():
            original = source.payload
            source.payload = lambda route, day, _original=original: {**_original(route, day),
                                                                     "synthetic_run": run_number}


def synthetic_game(day: date, run_number: int) -> GameFacts:
    home_runs, away_runs = 1 + run_number % 9, run_number % 4
    home = [0] * 8 + [home_runs]
    away = [0] * 8 + [away_runs]
    return GameFacts(game_id=game_id("LAN", day, 0), game_date=day, home="LAN", away="SDN",
                     home_runs=home_runs, away_runs=away_runs, home_innings=tuple(home), away_innings=tuple(away),
                     home_pitching_strikeouts=8 + run_number % 5, away_pitching_strikeouts=7)


def run_synthetic(services: Services) -> SyntheticResult:
    started = time.perf_counter()
    result = _run(services, SYNTHETIC_DAY)
    result.seconds = round(time.perf_counter() - started, 3)
    if result.ok:
        log.info("synthetic validation passed", extra={"fields": result.as_dict()})
    else:
        log.error("synthetic validation failed", extra={"fields": result.as_dict()})
    return result


def _run(services: Services, day: date) -> SyntheticResult:
    step = "start"
    try:
        run_number = _next_run_number(services)
        game = synthetic_game(day, run_number)
        expected = {p.id: ("met" if p.is_met(game) else "not_met")
                    for p in system.catalogue().for_game(game.home, game.away, day)}
        _deploy_if_embedded(services)
        step = "sources"
        with _Numbered([game], run_number) as urls:
            step = "monitor"
            with monitor_for(services, urls, synthetic=True, client_prefix="synthetic") as monitor:
                report = monitor.poll(day)
        announced = [v for g, v in report.announced if g == game.game_id]
        if not announced:
            return SyntheticResult(False, step, f"the synthetic game was not announced: {report}", game.game_id)
        version = announced[-1]
        step = "validation"
        decisions = _wait_for_decisions(services, game.game_id, version, expected)
        wrong = {k: v for k, v in decisions.items() if v != expected[k]}
        if wrong or len(decisions) != len(expected):
            return SyntheticResult(False, step, f"decided {decisions}, expected {expected}", game.game_id, version,
                                   decisions)
        step = "evidence"
        evidence_log = system.evidence_log(services)
        evidence_log.checkpoint()
        for promotion_id in expected:
            key = records.decision_evidence_key(day, game.game_id, version, promotion_id,
                                                system.catalogue().by_id(promotion_id).version)
            check_bundle(inclusion_bundle(evidence_log, key), system.verifier_key(services),
                         services.evidence.get(key))
        return SyntheticResult(True, "done", "", game.game_id, version, decisions)
    except Exception as error:  # any failure of the path is the finding, reported with its step
        return SyntheticResult(False, step, f"{type(error).__name__}: {error}")


def _next_run_number(services: Services) -> int:
    def bump(tx) -> int:
        doc = tx.get(STATE)
        number = (int(doc.data["runs"]) if doc else 0) + 1
        tx.set(STATE, {"runs": number})
        return number
    return services.documents.run_transaction(bump)


def _deploy_if_embedded(services: Services) -> None:
    bus = services.bus
    if hasattr(bus, "attach") and not getattr(bus, "_validation_deployed", False):
        from shared.runtime.embedded import EmbeddedDeployment
        EmbeddedDeployment(services).deploy()
        bus._validation_deployed = True


def _wait_for_decisions(services: Services, gid: str, version: int, expected: dict[str, str]) -> dict[str, str]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        if hasattr(services.bus, "drain"):
            services.bus.drain(max_seconds=3600)
        found = {}
        for promotion_id in expected:
            rule_version = system.catalogue().by_id(promotion_id).version
            doc = services.documents.get(f"{records.DECISIONS}/"
                                         f"{records.decision_key(gid, version, promotion_id, rule_version)}")
            if doc is not None:
                found[promotion_id] = doc.data["outcome"]
        if len(found) == len(expected) or time.monotonic() > deadline or hasattr(services.bus, "drain"):
            return found  # (the embedded bus has delivered everything it will once drained)
        time.sleep(0.5)
