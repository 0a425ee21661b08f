"""A small home with something on every console page: a validated day (one game routed to
review by a wrong ESPN score, a signed checkpoint), a date half through its fan-ins, live
matches (one fresh, one whose data stopped two hours ago), executions and a leaderboard."""
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
