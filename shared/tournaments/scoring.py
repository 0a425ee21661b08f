"""Pure scoring: one guess against one result under a tournament's rules."""
from __future__ import annotations

from dataclasses import dataclass

from shared.tournaments.model import ScoringRules


@dataclass(frozen=True)
class Award:
    points: int
    exact: bool


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def score_guess(rules: ScoringRules, guess: tuple[int, int], result: tuple[int, int], *, bonus: bool = False) -> Award:
    (guess_home, guess_away), (home, away) = guess, result
    if (guess_home, guess_away) == (home, away):
        points = rules.exact_score
    elif guess_home - guess_away == home - away:
        points = rules.goal_difference
    elif _sign(guess_home - guess_away) == _sign(home - away):
        points = rules.outcome
    else:
        points = 0
    return Award(points * (rules.bonus_multiplier if bonus else 1), exact=(guess_home, guess_away) == (home, away))
