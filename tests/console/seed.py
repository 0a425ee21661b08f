"""A small home with something on every console page: a validated day (one game routed to
review by a wrong ESPN score, a signed checkpoint), a date half through its fan-ins, live
matches (one fresh, one whose data stopped two hours ago), executions and a leaderboard, and a day
of platform metric points (dead letters, retries, fan-in progress, backlog, an earlier breaker
outage; and a breaker that really opens now)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from shared.executions.state import ExecutionStore
from shared.live.diary import match_from_diary
from shared.live.model import LiveProviderUpdate, match_path
from shared.live.store import MatchStore
from shared.orchestration.fan_in import FanInLedger, PartOutcome
from shared.topology.definition import PHASE2_PROCESSORS
from tests.validation.conftest import GAMES, DataFaults, Harness

PIPELINE_DAY = date(2025, 1, 15)
WRONG_GAME = GAMES[1].game_id  # ESPN reports a wrong score: its decisions go to review


@dataclass
class SeededHome:
    harness: Harness
    home: Path

    @property
    def services(self):
        return self.harness.services

    @property
    def documents(self):
        return self.harness.documents


def seed_home(home: Path) -> SeededHome:
    harness = Harness(home, data_faults={"espn": DataFaults(wrong_score={WRONG_GAME})}).__enter__()
    harness.poll()
    harness.log().checkpoint()
    seed_pipeline(harness.documents)
    seed_live(MatchStore(harness.documents))
    seed_executions(ExecutionStore(harness.documents))
    seed_metrics(harness.services.settings)
    return SeededHome(harness, home)


def seed_pipeline(documents) -> None:
    """Phase 2 of PIPELINE_DAY: every raw table but the prop lines loaded, the registry failed."""
    ledger = FanInLedger(documents)
    for fence, part in enumerate(PHASE2_PROCESSORS, start=1):
        if part == "raw_prop_lines":
            continue
        failed = part == "raw_player_registry"
        ledger.record_part(PIPELINE_DAY, part, PartOutcome(succeeded=not failed, data_version=f"v{fence}", fence=fence,
                                                           error="provider 503 after 5 attempts" if failed else None),
                           message_id=f"m{fence}", orchestrator="phase2_to_phase3_orchestrator")


FRESH_MATCH, STALE_MATCH = "fresh-1", "stale-1"


def seed_live(store: MatchStore) -> None:
    now = store.now()
    for match_id, home, away, silent_for, minute in ((FRESH_MATCH, "Arsenal", "Chelsea", 10, "23'"),
                                                     (STALE_MATCH, "Leeds", "Burnley", 7200, "67'")):
        kickoff = now - 60 * 70
        store.create(match_from_diary({"match_id": match_id, "home_team": home, "away_team": away,
                                       "competition": "Premier League", "match_time": kickoff}, kickoff - 3600))
        store.apply(LiveProviderUpdate(match_id=match_id, status_id=2, provider_update_time=kickoff,
                                       home_score=1, away_score=0))
        store.documents.update(match_path(match_id), {"minute_text": minute, "last_event_ts": now - silent_for})


def seed_executions(executions: ExecutionStore) -> None:
    first = executions.create(job_type="settlement", entity_id="match-1", triggered_by="dev-admin", request_id="r1")
    executions.transition(first.execution_id, "in_progress", step="started")
    executions.create(job_type="ingestion", entity_id="cup-2025", triggered_by="dev-admin", request_id="r2")


BREAKER_PROVIDER = "espn-console-seed"


def seed_metrics(settings) -> None:
    """The last 24 h of the platform's points as the functions record them (dead letters, retries,
    Phase 2's fan-in moving, the backlog draining), and a breaker that opens, half-opens and closes."""
    from datetime import datetime, timedelta, timezone

    from shared.metrics.breakers import record_breaker_transitions
    from shared.metrics.recorder import process_metrics
    from shared.resilience.circuit_breaker import CircuitBreaker
    from shared.resilience.policy import BreakerPolicy

    metrics = process_metrics(settings)
    now = datetime.now(timezone.utc)
    for hours_ago, kind in ((20, "not_json"), (20, "permanent_error"), (9, "max_delivery_attempts_exceeded"),
                            (3, "permanent_error"), (3, "permanent_error"), (1, "not_json")):
        metrics.record("dead_letter", at=now - timedelta(hours=hours_ago), function="phase3_analytics",
                       source_topic="phase3-trigger", error_kind=kind)
    for hours_ago in (22, 9, 9, 9, 2):
        metrics.record("retry", at=now - timedelta(hours=hours_ago), function="phase4_precompute",
                       topic="phase4-trigger", error="TransientError", delivery_attempt=1)
    for done, part in enumerate([p for p in PHASE2_PROCESSORS if p != "raw_prop_lines"], start=1):
        metrics.record("fan_in_progress", done, at=now - timedelta(hours=5, minutes=-done),
                       orchestrator="phase2_to_phase3_orchestrator", analysis_date=PIPELINE_DAY.isoformat(),
                       expected=len(PHASE2_PROCESSORS), part=part)
    for minutes_ago, pending in ((300, 40), (285, 25), (270, 6), (255, 0)):
        metrics.record("queue_backlog", pending, at=now - timedelta(minutes=minutes_ago),
                       subscription="phase2-raw-complete--phase2-to-phase3-orchestrator")
    for hours_ago, state, before, value in ((6, "open", "closed", 2.0), (5.5, "half_open", "open", 1.0),
                                            (5, "closed", "half_open", 0.0)):  # an earlier outage
        metrics.record("breaker_state", value, at=now - timedelta(hours=hours_ago), provider=BREAKER_PROVIDER,
                       state=state, from_state=before)
    record_breaker_transitions(settings)  # and a real one now: five failures open it
    breaker = CircuitBreaker(BREAKER_PROVIDER, BreakerPolicy(), clock=lambda: 1000.0)
    for _ in range(BreakerPolicy().failure_threshold):
        breaker.acquire().record_failure()
