"""What the Phase 4 processors share: their completion, and the players expected on D with
their history. Level 1 reads only raw tables (D's schedule, the registry ≤ D) and analytics
history before D — never upcoming_player_game_context, which is not its parent — yet names
the same players, through the roster CTE Phase 3 uses too."""
from __future__ import annotations

from shared.contracts.envelope import Message
from shared.contracts.messages import PrecomputeProcessorCompleted
from shared.pipeline.phase3.base import QueryProcessor
from shared.pipeline.phase3.history import EXPECTED_PLAYERS_CTES
from shared.pipeline.processor import ProcessorContext

# expected: the players expected on D (history.EXPECTED_PLAYERS_CTES), one row each.
# player_history: each player's games this season before D, recency 1 = latest. A player
# expected on D may have none (first game, or a fresh warehouse): consumers LEFT JOIN it.
PLAYERS_ON_D_CTES = f"""{EXPECTED_PLAYERS_CTES},
player_history AS (
  SELECT game_date, game_id, player_id, minutes, points, rebounds, assists,
         fgm, fga, fg3m, fg3a, ftm, fta, usage_rate,
         ROW_NUMBER() OVER (PARTITION BY player_id ORDER BY game_date DESC, game_id DESC) AS recency
  FROM nba_analytics.player_game_summary
  WHERE game_date < @d AND game_date >= @season_start
)"""


class PrecomputeProcessor(QueryProcessor):
    phase = 4
    completion_topic = "phase4-processor-complete"

    def completion(self, ctx: ProcessorContext, records: int) -> Message:
        return PrecomputeProcessorCompleted(processor_name=self.name, analysis_date=ctx.analysis_date,
                                            records_processed=records, success=True)
