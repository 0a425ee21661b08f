"""The prediction systems by name, and the version of their code (part of every artifact)."""
from __future__ import annotations

from shared.predictions.systems.base import PredictionSystem
from shared.predictions.systems.ensemble import COMPONENTS
from shared.predictions.systems.gradient_boosted import GradientBoosted
from shared.predictions.systems.pace_adjusted import PaceAdjusted
from shared.predictions.systems.rolling_average import RollingAverage
from shared.predictions.systems.similar_players import SimilarPlayers

# Bump when a system's fitting or prediction code changes meaning: old artifacts stay loadable
# records, and a retrain under the new code gets a new content hash.
MODEL_CODE_VERSION = "1"
ENSEMBLE = "ensemble"
SYSTEMS: tuple[str, ...] = ("rolling_average", "pace_adjusted", "similar_players", "gradient_boosted", ENSEMBLE)
COMPONENT_SYSTEMS: dict[str, PredictionSystem] = {
    system.name: system for system in (RollingAverage(), PaceAdjusted(), SimilarPlayers(), GradientBoosted())}
assert tuple(COMPONENT_SYSTEMS) == COMPONENTS and SYSTEMS == COMPONENTS + (ENSEMBLE,)
