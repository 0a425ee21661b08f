"""The consensus engine: each source's facts vote on a promotion, weighted (ESPN 0.6, MLB 0.4).

Deterministic: the same reports give the same decision. A source votes met / not met by
evaluating the rule on its own facts; it abstains when it is missing (no answer, or no entry for
the game), when its payload could not be read, or when its line score does not add up (an
inning is missing). Then:

- sources that disagree          -> review ("espn says met, mlb says not met")
- confidence below the threshold -> review (confidence = the agreeing weight / all the weight)
- otherwise                      -> the agreed outcome

With the default threshold of 1.0 every configured source must answer and agree: a decision is
never made on one source's word (SPEC §2: disagreement or low confidence goes to review).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

from shared.validation.games import GameFacts
from shared.validation.rules import Promotion

Outcome = Literal["met", "not_met", "review"]
DEFAULT_WEIGHTS: Mapping[str, float] = {"espn": 0.6, "mlb": 0.4}


@dataclass(frozen=True)
class ConsensusPolicy:
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    min_confidence: float = 1.0

    def __post_init__(self) -> None:
        if not self.weights or any(w <= 0 for w in self.weights.values()):
            raise ValueError(f"source weights must be positive, got {dict(self.weights)}")
        if not 0 < self.min_confidence <= 1:
            raise ValueError(f"min_confidence must be in (0, 1], got {self.min_confidence}")

    def as_dict(self) -> dict:
        return {"weights": dict(sorted(self.weights.items())), "min_confidence": self.min_confidence}


@dataclass(frozen=True)
class SourceReport:
    """What one source said about one game: its facts, or why there are none."""
    source: str
    facts: GameFacts | None
    problem: str | None = None


@dataclass(frozen=True)
class Consensus:
    outcome: Outcome
    confidence: float
    votes: dict[str, str]  # source -> "met" | "not_met" | "abstain: <why>"
    reason: str

    def as_dict(self) -> dict:
        return {"outcome": self.outcome, "confidence": self.confidence, "votes": self.votes, "reason": self.reason}


def vote(promotion: Promotion, report: SourceReport | None) -> str:
    if report is None:
        return "abstain: no answer"
    if report.facts is None:
        return f"abstain: {report.problem or 'no entry for the game'}"
    if not report.facts.final:
        return "abstain: not final"
    if not report.facts.consistent:
        return "abstain: line score does not add up to the score (missing inning?)"
    return "met" if promotion.is_met(report.facts) else "not_met"


def decide(promotion: Promotion, reports: Mapping[str, SourceReport], policy: ConsensusPolicy) -> Consensus:
    votes = {source: vote(promotion, reports.get(source)) for source in sorted(policy.weights)}
    total = sum(policy.weights.values())
    weight = {o: sum(policy.weights[s] for s, v in votes.items() if v == o) for o in ("met", "not_met")}
    if weight["met"] and weight["not_met"]:
        said = ", ".join(f"{s} says {v}" for s, v in votes.items() if not v.startswith("abstain"))
        return Consensus("review", round(max(weight.values()) / total, 6), votes, f"sources disagree: {said}")
    outcome: Outcome = "met" if weight["met"] else "not_met"
    confidence = round(weight[outcome] / total, 6)
    if confidence < policy.min_confidence:
        abstained = ", ".join(f"{s} ({v.removeprefix('abstain: ')})" for s, v in votes.items()
                              if v.startswith("abstain"))
        return Consensus("review", confidence, votes,
                         f"confidence {confidence:.2f} below {policy.min_confidence:.2f}: no vote from {abstained}")
    return Consensus(outcome, confidence, votes, "sources agree")


def facts_agree(reports: Mapping[str, SourceReport]) -> dict[str, bool | None]:
    """Per source: whether its facts equal every other answering source's (None when it has none).
    Feeds the per-source reliability record."""
    facts = {s: r.facts for s, r in reports.items() if r.facts is not None}
    return {s: (None if s not in facts else all(f == facts[s] for f in facts.values())) for s in reports}
