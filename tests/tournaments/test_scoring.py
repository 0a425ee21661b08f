from __future__ import annotations

import pytest

from shared.tournaments.model import ScoringRules
from shared.tournaments.scoring import score_guess

RULES = ScoringRules(exact_score=5, goal_difference=3, outcome=2, bonus_multiplier=2)


@pytest.mark.parametrize("guess,result,points,exact", [
    ((2, 1), (2, 1), 5, True),     # exact
    ((3, 2), (2, 1), 3, False),    # same goal difference and winner
    ((1, 1), (2, 2), 3, False),    # a draw is a goal difference of 0
    ((3, 0), (2, 1), 2, False),    # right winner only
    ((0, 1), (2, 1), 0, False),    # wrong winner
    ((1, 1), (2, 1), 0, False),    # guessed a draw
])
def test_the_best_matching_rule_counts_once(guess, result, points, exact):
    award = score_guess(RULES, guess, result)
    assert (award.points, award.exact) == (points, exact)


def test_a_bonus_round_multiplies_and_rules_are_per_tournament():
    assert score_guess(RULES, (2, 1), (2, 1), bonus=True).points == 10
    assert score_guess(ScoringRules(exact_score=10, outcome=1), (2, 1), (2, 1)).points == 10
    assert score_guess(ScoringRules(exact_score=10, outcome=1), (3, 0), (2, 1)).points == 1
