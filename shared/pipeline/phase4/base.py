"""What the Phase 4 processors share: their completion, and the players of D's teams as
history sees them (level 1 reads only history before D and D's schedule)."""
from __future__ import annotations

from shared.contracts.envelope import Message
from shared.contracts.messages import PrecomputeProcessorCompleted
from shared.pipeline.phase3.base import QueryProcessor
from shared.pipeline.phase3.history import SCHEDULED_TEAMS_CTE
from shared.pipeline.processor import ProcessorContext

# player_history: his games this season before D, recency 1 = latest.
# players_on_d: each player whose latest game this season was for a team playing on D.
PLAYERS_ON_D_CTES = f"""{SCHEDULED_TEAMS_CTE},
player_history AS (
  SELECT game_date, game_id, player_id, player_name, team_abbr, minutes, points, rebounds, assists,
         fgm, fga, fg3m, fg3a, ftm, fta, usage_rate,
         ROW_NUMBER() OVER (PARTITION BY player_id ORDER BY game_date DESC, game_id DESC) AS recency
  FROM nba_analytics.player_game_summary
  WHERE game_date < @d AND game_date >= @season_start
),
players_on_d AS (
  SELECT h.player_id, h.player_name, h.team_abbr, g.game_id
  FROM player_history AS h
  JOIN scheduled AS g ON g.team_abbr = h.team_abbr
  WHERE h.recency = 1
)"""


class PrecomputeProcessor(QueryProcessor):
    phase = 4
    completion_topic = "phase4-processor-complete"

    def completion(self, ctx: ProcessorContext, records: int) -> Message:
        return PrecomputeProcessorCompleted(processor_name=self.name, analysis_date=ctx.analysis_date,
                                            records_processed=records, success=True)
