"""Phase 4, precompute (SPEC §1): a dependency graph of five processors per date into
nba_precompute — level 1 team_defense_zone_analysis, player_shot_zone_analysis,
player_daily_cache; level 2 player_composite_factors; level 3 ml_feature_store_v2."""
from __future__ import annotations

from shared.pipeline.phase4.handler import handle_precompute_trigger
from shared.pipeline.phase4.ml_feature_store_v2 import MlFeatureStoreV2
from shared.pipeline.phase4.player_composite_factors import PlayerCompositeFactors
from shared.pipeline.phase4.player_daily_cache import PlayerDailyCache
from shared.pipeline.phase4.player_shot_zone_analysis import PlayerShotZoneAnalysis
from shared.pipeline.phase4.team_defense_zone_analysis import TeamDefenseZoneAnalysis
from shared.pipeline.processor import Processor

PROCESSORS: dict[str, Processor] = {p.name: p for p in (
    TeamDefenseZoneAnalysis(),
    PlayerShotZoneAnalysis(),
    PlayerDailyCache(),
    PlayerCompositeFactors(),
    MlFeatureStoreV2(),
)}

__all__ = ["PROCESSORS", "handle_precompute_trigger"]
