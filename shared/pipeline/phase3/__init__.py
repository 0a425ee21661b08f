"""Phase 3, analytics (SPEC §1): five processors per date into nba_analytics."""
from __future__ import annotations

from shared.pipeline.phase3.handler import handle_analytics_trigger
from shared.pipeline.phase3.player_game_summary import PlayerGameSummary
from shared.pipeline.phase3.team_defense_game_summary import TeamDefenseGameSummary
from shared.pipeline.phase3.team_offense_game_summary import TeamOffenseGameSummary
from shared.pipeline.phase3.upcoming_player_game_context import (
    UpcomingPlayerGameContext,
)
from shared.pipeline.phase3.upcoming_team_game_context import UpcomingTeamGameContext
from shared.pipeline.processor import Processor

PROCESSORS: dict[str, Processor] = {p.name: p for p in (
    PlayerGameSummary(),
    TeamOffenseGameSummary(),
    TeamDefenseGameSummary(),
    UpcomingPlayerGameContext(),
    UpcomingTeamGameContext(),
)}

__all__ = ["PROCESSORS", "handle_analytics_trigger"]
