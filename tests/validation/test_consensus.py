"""The consensus engine: weighted, deterministic; disagreement, low confidence or a missing source go to review."""
from __future__ import annotations

import pytest

from shared.validation.consensus import ConsensusPolicy, SourceReport, decide
from shared.validation.rules import parse_promotion
from tests.validation.conftest import GAMES

HOME_WIN = parse_promotion({"id": "lad-home-win", "version": 1, "team": "LAN", "venue": "home", "title": "win!",
                            "sponsor": "s", "conditions": [{"type": "win"}]})
DODGERS = GAMES[0]
POLICY = ConsensusPolicy()


def reports(espn, mlb) -> dict[str, SourceReport]:
    return {"espn": SourceReport("espn", espn), "mlb": SourceReport("mlb", mlb)}


def test_agreeing_sources_decide_with_full_confidence() -> None:
    consensus = decide(HOME_WIN, reports(DODGERS, DODGERS), POLICY)
    assert (consensus.outcome, consensus.confidence) == ("met", 1.0)
    assert consensus.votes == {"espn": "met", "mlb": "met"}


def test_disagreement_goes_to_review_whatever_the_weights() -> None:
    lost = DODGERS.model_copy(update={"home_runs": 1, "home_innings": (1,) + (0,) * 7 + (None,)})
    for espn, mlb in ((DODGERS, lost), (lost, DODGERS)):
        consensus = decide(HOME_WIN, reports(espn, mlb), POLICY)
        assert consensus.outcome == "review" and "disagree" in consensus.reason
    assert decide(HOME_WIN, reports(DODGERS, lost), POLICY).confidence == 0.6  # ESPN's weight


def test_a_missing_or_broken_source_lowers_confidence_to_review() -> None:
    missing = {"espn": SourceReport("espn", DODGERS), "mlb": SourceReport("mlb", None, "ProviderUnavailable")}
    consensus = decide(HOME_WIN, missing, POLICY)
    assert (consensus.outcome, consensus.confidence) == ("review", 0.6)
    assert "mlb (ProviderUnavailable)" in consensus.reason
    no_inning = DODGERS.model_copy(update={"home_innings": DODGERS.home_innings[1:]})
    assert decide(HOME_WIN, reports(DODGERS, no_inning), POLICY).votes["mlb"].startswith("abstain: line score")
    # With a lower threshold (configurable), ESPN's 0.6 alone may decide.
    assert decide(HOME_WIN, missing, ConsensusPolicy(min_confidence=0.5)).outcome == "met"


def test_consensus_is_deterministic_and_weights_are_configurable() -> None:
    lost = DODGERS.model_copy(update={"home_runs": 1, "home_innings": (1,) + (0,) * 7 + (None,)})
    policy = ConsensusPolicy(weights={"espn": 0.3, "mlb": 0.7})
    first = decide(HOME_WIN, reports(DODGERS, lost), policy)
    assert all(decide(HOME_WIN, reports(DODGERS, lost), policy) == first for _ in range(5))
    assert first.confidence == 0.7
    with pytest.raises(ValueError):
        ConsensusPolicy(weights={"espn": 0})
