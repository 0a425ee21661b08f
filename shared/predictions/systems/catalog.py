"""The prediction systems by name, and the version of their code (part of every artifact)."""
from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

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


@cache
def code_fingerprint() -> str:
    """A hash of the source of the systems and their training: a training of the same data
    under changed code is a different training (never reused), even if nobody bumped
    MODEL_CODE_VERSION."""
    package = Path(__file__).resolve().parent
    sources = sorted(package.glob("*.py")) + [package.parent / "training.py"]
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]
